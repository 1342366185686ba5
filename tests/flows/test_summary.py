"""The demo's closing summary reads every stage's metrics files named in dvc.yaml."""

from __future__ import annotations

import json

import yaml

from flows import summary


def test_summary_reports_each_stage_and_missing_ones(tmp_path, monkeypatch):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "a.json").write_text(json.dumps({"clips": 3, "by_kind": {"speech": 2}, "hours": 0.25}))
    dvc_file = tmp_path / "dvc.yaml"
    dvc_file.write_text(yaml.safe_dump({"stages": {
        "a": {"cmd": "x", "metrics": [{"metrics/a.json": {"cache": False}}]},
        "b": {"cmd": "y", "metrics": ["metrics/b.json"]},
    }}))
    monkeypatch.setattr(summary, "REPO_ROOT", tmp_path)

    results = summary.stage_metrics(dvc_file)
    assert results == {"a": {"clips": 3, "by_kind": {"speech": 2}, "hours": 0.25}, "b": {}}
    text = summary.render(results)
    assert "by_kind.speech" in text and "0.25" in text
    assert "== b  (not run yet)" in text


def test_every_dvc_stage_declares_metrics():
    stages = yaml.safe_load((summary.REPO_ROOT / "dvc.yaml").read_text())["stages"]
    assert stages and all(stage.get("metrics") for stage in stages.values())
