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


def test_evaluate_metrics_show_as_condition_tables():
    condition = {"accuracy": 40.0, "chance": 37.5, "by_attribute": {"gender": {"accuracy": 50.0, "chance": 50.0, "n": 2}}}
    metrics = {"suites": {"embedded": {
        "version": "1", "chance": {"all": 37.5, "gender": 50.0},
        "conditions": {"trained": condition, "mismatched": {**condition, "accuracy": 30.0,
                                                            "by_attribute": {"gender": {"accuracy": 0.0}}}},
        "trained_minus_mismatched": {"accuracy": 10.0, "attribute.gender": 50.0}}},
        "primary": {"suite": "embedded", "value": 40.0}, "forgetting": {"passed": True}}
    text = summary.render({"evaluate": metrics})
    assert "| category | trained | mismatched | trained-mismatched | chance |" in text
    assert "| gender | 50.00 | 0.00 | 50.00 | 50.00 |" in text and "| all | 40.00 | 30.00 | 10.00 | 37.50 |" in text
    assert "primary.value" in text and "by_attribute" not in text
