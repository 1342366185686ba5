"""Data-quality gates (Great Expectations): the corpus manifest gate and the generated-rows gate."""
