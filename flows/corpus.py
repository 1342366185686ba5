"""Corpus stage: build the embedded corpus and ingest the user's corpora (`python -m flows.corpus`).

Reads params.yaml, runs tasks.corpus.build_corpus, writes metrics/corpus.json and a markdown summary
(Prefect artifact + stdout). Without PREFECT_API_URL, Prefect runs against a temporary local API.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

# Offline: Prefect state in the repo's ignored .work/ and no telemetry, unless the user chose otherwise.
os.environ.setdefault("PREFECT_HOME", str(Path(__file__).resolve().parent.parent / ".work" / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402

from tasks.corpus import build_corpus, summarize, summary_markdown  # noqa: E402
from tasks.params import CorpusParams, load_params  # noqa: E402


@task(name="build-corpus")
def build_corpus_task(params: CorpusParams) -> dict:
    return summarize(build_corpus(params))


@flow(name="corpus")
def corpus(params_path: str = "params.yaml", metrics_path: str = "metrics/corpus.json") -> dict:
    metrics = build_corpus_task(load_params(params_path).corpus)
    Path(metrics_path).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics_path).write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    summary = summary_markdown(metrics)
    create_markdown_artifact(summary, key="corpus-summary", description="corpus build: clips per source")
    print(summary)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the corpus (audio + manifest) from params.yaml.")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--metrics", default="metrics/corpus.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    corpus(args.params, args.metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
