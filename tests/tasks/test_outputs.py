"""The stage-output rule: after a failed run no earlier output remains where a later stage reads it; the last
successful run's outputs wait in the previous folder until a run succeeds; one run of a stage at a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.outputs import previous_root, stage_outputs
from tasks.storage import DirectoryBusy


class StageFailed(Exception):
    pass


def outputs(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    clean, report = tmp_path / "clean.parquet", tmp_path / "report"
    return clean, report, [str(clean), str(report)]


def produce(clean: Path, report: Path, text: str) -> None:
    clean.write_text(text)
    report.mkdir(exist_ok=True)
    (report / "index.html").write_text(text)


def test_a_successful_run_replaces_the_outputs_and_keeps_no_copy(tmp_path):
    clean, report, urls = outputs(tmp_path)
    produce(clean, report, "run 1")
    with stage_outputs("gate", urls) as previous:
        assert not clean.exists() and not report.exists()  # nothing stale while the run works
        assert (previous / "0-clean.parquet").read_text() == "run 1"
        produce(clean, report, "run 2")
    assert clean.read_text() == "run 2" and not (previous_root() / "gate").exists()


def test_a_failed_run_leaves_only_its_own_outputs_and_keeps_the_last_good_ones(tmp_path, capsys):
    clean, report, urls = outputs(tmp_path)
    produce(clean, report, "good run")
    with pytest.raises(StageFailed), stage_outputs("gate", urls):
        report.mkdir()
        (report / "index.html").write_text("failed run's report")  # it explains the failure: it stays
        raise StageFailed
    assert not clean.exists()
    assert (report / "index.html").read_text() == "failed run's report"
    previous = previous_root() / "gate"
    assert (previous / "0-clean.parquet").read_text() == "good run"
    assert json.loads((previous / "outputs.json").read_text()) == {str(clean): "0-clean.parquet",
                                                                   str(report): "1-report"}
    assert f"outputs of its last successful run are kept in {previous}" in capsys.readouterr().err

    # A second failed run clears the first one's leftovers but never touches the last good outputs.
    with pytest.raises(StageFailed), stage_outputs("gate", urls):
        assert not report.exists()
        raise StageFailed
    assert (previous / "0-clean.parquet").read_text() == "good run"
    with stage_outputs("gate", urls):
        produce(clean, report, "fixed run")
    assert clean.read_text() == "fixed run" and not previous.exists()


def test_a_second_run_of_the_same_stage_is_refused_and_moves_nothing(tmp_path):
    clean, report, urls = outputs(tmp_path)
    hold = ("import sys\nfrom tasks.outputs import stage_outputs\n"
            "with stage_outputs('gate', sys.argv[1:]):\n    print('running', flush=True)\n    sys.stdin.read()\n")
    first = subprocess.Popen([sys.executable, "-c", hold, *urls], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert first.stdout.readline() == "running\n"
        produce(clean, report, "the first run's output")
        with pytest.raises(DirectoryBusy, match=f"another gate run \\(pid {first.pid} on "):
            with stage_outputs("gate", urls):
                pass
        assert clean.read_text() == "the first run's output"
    finally:
        first.stdin.close()
        assert first.wait(timeout=30) == 0
