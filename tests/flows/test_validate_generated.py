"""The target-gate flow end to end: clean rows pass through unchanged; a broken file exits 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from prefect.artifacts import Artifact

from flows.validate_generated import main, validate_generated
from tasks.params import REPO_ROOT
from tasks.rows import read_rows
from tests.tasks.validate.gate_helpers import generated_row, jsonl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_api(prefect_server):
    with prefect_server.settings():
        yield


def rows_with_params(tmp_path: Path, lines: list[str], **generate) -> tuple[Path, Path]:
    out = tmp_path / "generated"
    out.mkdir()
    (out / "rows.jsonl").write_text("\n".join(lines) + "\n")
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params["validate_generated"].update(
        rows=str(out / "rows.jsonl"), clean=str(out / "clean.jsonl"), quarantine=str(out / "quarantine.jsonl"),
        report=str(out / "validation"))
    params["generate"].update(generate)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    return out, params_file


def test_flow_passes_clean_rows_unchanged(prefect_api, tmp_path):
    out, params_file = rows_with_params(tmp_path, jsonl([generated_row(n) for n in range(6)]))
    metrics_file = tmp_path / "metrics" / "validate_generated.json"

    metrics = validate_generated(str(params_file), str(metrics_file))

    assert metrics["passed"] and (metrics["rows"], metrics["clean"], metrics["quarantined"]) == (6, 6, 0)
    assert set(metrics["grounding"]) >= {"attribute_rows", "grounded", "rate", "by_attribute"}
    assert json.loads(metrics_file.read_text()) == metrics
    assert read_rows(str(out / "clean.jsonl")) == read_rows(str(out / "rows.jsonl"))
    assert (out / "quarantine.jsonl").read_text() == ""
    assert (out / "validation" / "index.html").is_file()
    artifact = Artifact.get("validate-generated")
    assert artifact is not None and "# validate_generated: PASSED" in artifact.data


def test_flow_exits_non_zero_naming_the_failed_check(prefect_api, tmp_path, capsys):
    lines = jsonl([generated_row(n) for n in range(4)]) + ["{truncated json"]
    out, params_file = rows_with_params(tmp_path, lines)

    assert main(["--params", str(params_file), "--metrics", str(tmp_path / "metrics.json")]) == 1

    message = capsys.readouterr().err
    assert "1 of 5 rows (20.00%) failed row-level checks, above max_failed_fraction=0.1" in message
    assert "json_object (expect_column_values_to_be_null): 1 rows, e.g. line=5, id=None" in message
    assert not (out / "clean.jsonl").exists()
    assert json.loads((out / "quarantine.jsonl").read_text())["line"] == 5


@pytest.mark.parametrize("generate, quarantined", [({}, 1), ({"allow_foreign_generator": True, "generator": "x/y"}, 0)])
def test_params_not_the_row_decide_on_a_foreign_generator(prefect_api, tmp_path, generate, quarantined):
    claims = generated_row(0, generator={"model": "x/y", "foreign_override": True})
    _, params_file = rows_with_params(tmp_path, jsonl([claims] + [generated_row(n) for n in range(1, 10)]), **generate)
    metrics = validate_generated(str(params_file), str(tmp_path / "metrics.json"))
    assert (metrics["quarantined"], metrics["failing_rows_by_check"]["generator_allowed"]) == (quarantined, quarantined)
