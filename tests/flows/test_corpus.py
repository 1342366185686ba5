"""The corpus flow, run for real through Prefect on a tiny corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tasks.manifest import read_manifest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_corpus_flow_builds_and_reports(prefect_server, tmp_path, capsys):
    from flows.corpus import corpus

    settings = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    settings["corpus"].update(
        out=str(tmp_path / "corpus"),
        synthetic_speech={"clips": 3},
        real_speech={"asterisk_clips": 2, "alsa_clips": False, "pyannote_call": False},
        sound={"recorded_clips": 2, "synthetic_clips": 2},
        music={"synthetic_clips": 2, "recorded_clips": 1, "recorded_segment_s": 2.0},
    )
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings))
    with prefect_server.settings():
        metrics = corpus(str(tmp_path / "params.yaml"), str(tmp_path / "metrics" / "corpus.json"))
    assert json.loads((tmp_path / "metrics" / "corpus.json").read_text()) == metrics
    assert metrics["clips"] == 12 == len(read_manifest(str(tmp_path / "corpus" / "manifest.parquet")))
    assert metrics["clips_per_kind"] == {"music": 3, "sound": 4, "speech": 5}
    assert sum(metrics["clips_per_split"].values()) == 12 and metrics["build_seconds"] > 0
    assert "| sox-music | 2 |" in capsys.readouterr().out
