"""Corpus stage: build the embedded corpus and ingest the user's corpora (`python -m flows.corpus`).

Reads params.yaml, runs tasks.corpus.build_corpus, writes metrics/corpus.json and a markdown summary
(Prefect artifact + stdout). Without PREFECT_API_URL, Prefect runs against a temporary local API.
"""

from __future__ import annotations

import sys

from prefect import flow, task

from flows import publish_stage, run_stage
from tasks.corpus import build_corpus, summarize, summary_markdown
from tasks.corpus.build import corpus_outputs
from tasks.corpus.external import IngestError
from tasks.corpus.sources import SourceMissingError
from tasks.params import CorpusParams
from tasks.stage_params import load_stage_params

# What this stage reads of params.yaml (its DVC params derive from it; see tasks/stage_params.py).
READS = ("corpus",)


@task(name="build-corpus")
def build_corpus_task(params: CorpusParams) -> dict:
    return summarize(build_corpus(params))


@flow(name="corpus")
def corpus(params_path: str = "params.yaml", metrics_path: str = "metrics/corpus.json") -> dict:
    params = load_stage_params(params_path, "corpus", READS)
    metrics = build_corpus_task(params.corpus)
    params.require_all_read()
    publish_stage(metrics, metrics_path, summary_markdown(metrics), "corpus-summary", "corpus build: clips per source")
    return metrics


def main(argv: list[str] | None = None) -> int:
    return run_stage(corpus, "Build the corpus (audio + manifest) from params.yaml.", argv,
                     expected_errors=(IngestError, SourceMissingError),
                     outputs=lambda params: corpus_outputs(params.corpus))


if __name__ == "__main__":
    sys.exit(main())
