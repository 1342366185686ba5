"""The corpus stage: the embedded default corpus (labelled synthetic speech, real recordings, sound
events, music, noisy speech) and the user's own corpora, as 16 kHz mono WAV + a Parquet manifest.

    from tasks.corpus import build_corpus, summarize, LABEL_SETS
    result = build_corpus(load_params().corpus)      # -> BuildResult(manifest, out, seconds, problems)
"""

from tasks.corpus.build import BuildResult, build_corpus, corpus_fingerprint, plan_clips, summarize, summary_markdown
from tasks.corpus.external import IngestError, IngestProblem
from tasks.corpus.labels import LABEL_SETS
from tasks.corpus.sources import SourceMissingError

__all__ = [
    "LABEL_SETS",
    "BuildResult",
    "IngestError",
    "IngestProblem",
    "SourceMissingError",
    "build_corpus",
    "corpus_fingerprint",
    "plan_clips",
    "summarize",
    "summary_markdown",
]
