"""Corpus gate (`python -m flows.validate_corpus`): GX suite + file checks over the corpus manifest.

Writes the clean manifest (only when the dataset passes), the quarantine JSONL, GX data docs,
metrics/validate_corpus.json and a Prefect markdown artifact; a dataset-level failure exits non-zero.
"""

from __future__ import annotations

import sys

from prefect import flow, task

from flows import publish_stage, run_stage
from tasks.corpus.labels import LABEL_SETS
from tasks.manifest import ManifestError
from tasks.params import ValidateCorpusParams
from tasks.stage_params import load_stage_params
from tasks.validate.checks import GxRun
from tasks.validate.corpus import run_corpus_gate
from tasks.validate.outcome import DataQualityError, Outcome


# What this stage reads of params.yaml (its DVC params derive from it; see tasks/stage_params.py).
READS = ("validate_corpus",)


@task(name="corpus-gate")
def corpus_gate(params: ValidateCorpusParams) -> Outcome:
    with GxRun() as gx_run:
        return run_corpus_gate(params, LABEL_SETS, gx_run)


@flow(name="validate_corpus")
def validate_corpus(params_path: str = "params.yaml", metrics_path: str = "metrics/validate_corpus.json") -> dict:
    params = load_stage_params(params_path, "validate_corpus", READS)
    outcome = corpus_gate(params.validate_corpus)
    params.require_all_read()
    publish_stage(outcome.metrics(), metrics_path, outcome.summary_markdown(), "validate-corpus",
                  f"{outcome.gate}: data-quality gate summary")
    outcome.raise_if_failed()
    return outcome.metrics()


def main(argv: list[str] | None = None) -> int:
    return run_stage(validate_corpus, "Validate the corpus manifest and its audio files.", argv,
                     expected_errors=(DataQualityError, ManifestError),
                     outputs=lambda params: [params.validate_corpus.clean, params.validate_corpus.quarantine,
                                             params.validate_corpus.report])


if __name__ == "__main__":
    sys.exit(main())
