"""The champion gate on hand-made evaluation records."""

from __future__ import annotations

import json

import pytest

from tasks.register.gate import Evaluation, RegisterError, decide, read_evaluation
from tests.tasks.register.helpers import evaluation


BASELINES = ["text_only", "chance"]


def record(tmp_path, accuracy, **kwargs) -> Evaluation:
    path = tmp_path / f"evaluate-{accuracy}.json"
    path.write_text(json.dumps(evaluation(accuracy, **kwargs)))
    return read_evaluation(path, BASELINES)


def test_first_passing_version_becomes_champion(tmp_path):
    decision = decide(record(tmp_path, 0.4), None, margin=0.01, greater_is_better=True)
    assert decision.promote
    assert "no champion yet" in decision.tags()["gate.reasons"]


@pytest.mark.parametrize(("text_only", "chance", "beaten"), [(0.45, 0.25, "text_only"), (0.3, 0.4, "chance")])
def test_first_version_no_better_than_not_listening_is_refused(tmp_path, text_only, chance, beaten):
    decision = decide(record(tmp_path, 0.4, text_only=text_only, chance=chance), None, margin=0.01,
                      greater_is_better=True)
    assert not decision.promote
    refused = [reason for reason in decision.reasons if "does not beat" in reason]
    assert len(refused) == 1 and f"vs {beaten} " in refused[0]


def test_better_than_champion_but_not_than_text_only_is_refused(tmp_path):
    decision = decide(record(tmp_path, 0.6, text_only=0.65), record(tmp_path, 0.5), 0.01, True)
    assert not decision.promote
    assert "vs the champion" in decision.reasons[-1] and "beats the margin" in decision.reasons[-1]


def test_a_baseline_the_evaluation_lacks_is_named(tmp_path):
    data = evaluation(0.5)
    del data["suites"]["embedded"]["conditions"]["text_only"]
    path = tmp_path / "evaluate.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RegisterError, match=r"suites\.embedded\.conditions\.text_only\.accuracy is None.*remove "
                                            "text_only from register.baselines"):
        read_evaluation(path, BASELINES)


def test_first_version_failing_forgetting_is_refused(tmp_path):
    decision = decide(record(tmp_path, 0.9, forgetting_passed=False), None, margin=0.01, greater_is_better=True)
    assert not decision.promote
    assert "forgetting check failed" in decision.reasons[0]


@pytest.mark.parametrize(("challenger", "promote"), [(0.52, True), (0.51, False), (0.505, False), (0.3, False)])
def test_challenger_must_beat_champion_by_more_than_margin(tmp_path, challenger, promote):
    champion = record(tmp_path, 0.5)
    decision = decide(record(tmp_path, challenger), champion, margin=0.01, greater_is_better=True, champion_version="3")
    assert decision.promote is promote
    assert "champion v3 0.5" in decision.reasons[-1]


def test_lower_is_better_metrics(tmp_path):
    worse = {"text_only": 0.6, "chance": 0.7}  # error rates of not listening
    champion = record(tmp_path, 0.30, **worse)
    assert decide(record(tmp_path, 0.20, **worse), champion, margin=0.05, greater_is_better=False).promote
    assert not decide(record(tmp_path, 0.40, **worse), champion, margin=0.05, greater_is_better=False).promote
    refused = decide(record(tmp_path, 0.20, text_only=0.22, chance=0.7), None, margin=0.05, greater_is_better=False)
    assert not refused.promote and "vs text_only 0.22" in refused.reasons[1]


def test_better_but_forgetting_failed_is_refused(tmp_path):
    decision = decide(record(tmp_path, 0.9, forgetting_passed=False), record(tmp_path, 0.5), 0.01, True)
    assert not decision.promote
    assert "beats the margin" in decision.reasons[-1]  # the metric alone would have promoted it


def test_different_suite_version_is_not_compared(tmp_path):
    decision = decide(record(tmp_path, 0.9, version="embedded-v2"), record(tmp_path, 0.5), 0.01, True)
    assert not decision.promote
    assert "version embedded-v2 differs" in decision.reasons[-1]


def test_tags_round_trip(tmp_path):
    original = record(tmp_path, 0.625)
    assert Evaluation.from_tags(original.tags(), "v1") == original


def test_champion_without_gate_tags_is_named(tmp_path):
    with pytest.raises(RegisterError, match="v7 lacks the gate tags"):
        Evaluation.from_tags({"git.commit": "abc"}, "destaflow-smol v7")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("primary"), "`primary` must hold suite, version, metric and value"),
        (lambda d: d["primary"].pop("version"), "`primary` must hold"),
        (lambda d: d["primary"].update(value="high"), "not a finite number"),
        (lambda d: d["primary"].update(value=float("nan")), "not a finite number"),
        (lambda d: d.pop("forgetting"), "forgetting.passed"),
    ],
)
def test_bad_evaluation_file_names_the_key(tmp_path, mutate, message):
    data = evaluation(0.5)
    mutate(data)
    path = tmp_path / "evaluate.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RegisterError, match=message):
        read_evaluation(path)


def test_missing_evaluation_says_which_stage(tmp_path):
    with pytest.raises(RegisterError, match="run the evaluate stage"):
        read_evaluation(tmp_path / "nope.json")
