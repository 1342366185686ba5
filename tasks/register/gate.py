"""The champion gate: does a challenger replace the champion? Pure functions over evaluation records.

A challenger is promoted when the forgetting check of evaluate passed, its primary metric beats each
baseline of the same suite (not hearing the audio: text_only; guessing: chance) by more than the margin, AND
either no champion exists yet or it beats the champion's by more than the margin on the same suite version. The
decision and every reason are stored as model-version tags, so the registry itself says why each version is
(or is not) the champion.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path


class RegisterError(RuntimeError):
    """The register stage cannot proceed; the message names the file or key and the fix."""


# Version tags holding what the gate compares (written on every version, read back from the champion).
TAG_SUITE = "primary.suite"
TAG_SUITE_VERSION = "primary.suite_version"
TAG_METRIC = "primary.metric"
TAG_CONDITION = "primary.condition"
TAG_VALUE = "primary.value"
TAG_FORGETTING = "forgetting.passed"
TAG_DECISION = "gate.decision"
TAG_REASONS = "gate.reasons"
TAG_BASELINE = "baseline."
CHANCE = "chance"
FLOAT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Evaluation:
    """One model's primary metric and forgetting verdict, as the gate needs them."""

    suite: str
    suite_version: str
    metric: str
    condition: str
    value: float
    forgetting_passed: bool
    forgetting: dict
    suite_versions: dict[str, str]
    # Baseline name -> its value of the primary metric on the same suite (register.baselines).
    baselines: dict[str, float]

    def tags(self) -> dict[str, str]:
        return {
            TAG_SUITE: self.suite, TAG_SUITE_VERSION: self.suite_version, TAG_METRIC: self.metric,
            TAG_CONDITION: self.condition, TAG_VALUE: repr(self.value), TAG_FORGETTING: str(self.forgetting_passed).lower(),
            "forgetting": json.dumps(self.forgetting, sort_keys=True),
            **{f"eval.{suite}.version": version for suite, version in self.suite_versions.items()},
            **{TAG_BASELINE + name: repr(value) for name, value in self.baselines.items()},
        }  # fmt: skip

    @classmethod
    def from_tags(cls, tags: dict[str, str], where: str) -> Evaluation:
        missing = [key for key in (TAG_SUITE, TAG_SUITE_VERSION, TAG_METRIC, TAG_CONDITION, TAG_VALUE) if key not in tags]
        if missing:
            raise RegisterError(f"{where} lacks the gate tags {missing}; it was not registered by this stage. "
                                "Move the champion alias to a version registered by `python -m flows.register`")
        return cls(
            suite=tags[TAG_SUITE], suite_version=tags[TAG_SUITE_VERSION], metric=tags[TAG_METRIC],
            condition=tags[TAG_CONDITION], value=float(tags[TAG_VALUE]),
            forgetting_passed=tags.get(TAG_FORGETTING) == "true", forgetting=json.loads(tags.get("forgetting", "{}")),
            suite_versions={key[5:-8]: value for key, value in tags.items() if key.startswith("eval.") and key.endswith(".version")},
            baselines={key[len(TAG_BASELINE):]: float(value) for key, value in tags.items() if key.startswith(TAG_BASELINE)},
        )  # fmt: skip


def read_evaluation(path: str | Path, baselines: list[str] = ()) -> Evaluation:
    """metrics/evaluate.json (schema in INTERFACES.md) -> its primary metric, the named baselines of its suite
    and the forgetting check."""
    path = Path(path)
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise RegisterError(f"{path}: not found; run the evaluate stage first (`dvc repro evaluate`)") from None
    except ValueError as error:
        raise RegisterError(f"{path}: not valid JSON ({error})") from None
    primary = report.get("primary")
    if not isinstance(primary, dict) or not {"suite", "version", "metric", "value"} <= primary.keys():
        raise RegisterError(f"{path}: `primary` must hold suite, version, metric and value (got {primary!r}); "
                            "rerun the evaluate stage")
    value = primary["value"]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise RegisterError(f"{path}: primary.value is {value!r}, not a finite number ({primary['suite']}/"
                            f"{primary['metric']}); the champion gate cannot compare it")
    forgetting = report.get("forgetting")
    if not isinstance(forgetting, dict) or not isinstance(forgetting.get("passed"), bool):
        raise RegisterError(f"{path}: forgetting.passed (true/false) is missing; evaluate must run the forgetting check")
    suites = report.get("suites") or {}
    return Evaluation(
        suite=str(primary["suite"]), suite_version=str(primary["version"]), metric=str(primary["metric"]),
        condition=str(primary.get("condition", "trained")), value=float(value), forgetting_passed=forgetting["passed"],
        forgetting=forgetting, suite_versions={name: str(s.get("version", "")) for name, s in suites.items()},
        baselines={name: baseline_value(path, suites.get(primary["suite"]) or {}, primary, name) for name in baselines},
    )


def baseline_value(path: Path, suite: dict, primary: dict, name: str) -> float:
    """The primary metric of a baseline: a condition evaluate ran, or the suite's chance level."""
    where = f"suites.{primary['suite']}"
    if name == CHANCE:
        value, key = (suite.get(CHANCE) or {}).get("all"), f"{where}.chance.all"
    else:
        value = ((suite.get("conditions") or {}).get(name) or {}).get(primary["metric"])
        key = f"{where}.conditions.{name}.{primary['metric']}"
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise RegisterError(f"{path}: {key} is {value!r}, not a number, but register.baselines asks the challenger to "
                            f"beat {name}; run evaluate with that condition or remove {name} from register.baselines")
    return float(value)


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: tuple[str, ...]

    def tags(self) -> dict[str, str]:
        return {TAG_DECISION: "promoted" if self.promote else "refused", TAG_REASONS: "; ".join(self.reasons)}


def decide(challenger: Evaluation, champion: Evaluation | None, margin: float, greater_is_better: bool,
           champion_version: str | None = None) -> Decision:
    """Promote or not, with every reason that decided it."""
    reasons = []
    if challenger.forgetting_passed:
        reasons.append("forgetting check passed")
    else:
        reasons.append(f"forgetting check failed ({json.dumps(challenger.forgetting, sort_keys=True)})")
    name = f"{challenger.suite}/{challenger.condition}/{challenger.metric}"
    passed = challenger.forgetting_passed
    for baseline, value in challenger.baselines.items():
        beats, reason = compare(challenger.value, value, f"{name} {challenger.value:.4g} vs {baseline} {value:.4g}",
                                margin, greater_is_better)
        passed &= beats
        reasons.append(reason)
    if champion is None:
        reasons.append(f"no champion yet: {name} = {challenger.value:.4g} on suite version {challenger.suite_version}")
        return Decision(passed, tuple(reasons))
    against = f"champion v{champion_version}" if champion_version else "the champion"
    if (champion.suite, champion.metric, champion.condition) != (challenger.suite, challenger.metric, challenger.condition):
        reasons.append(f"{against} was measured by {champion.suite}/{champion.condition}/{champion.metric}, not {name}; "
                       "evaluate both with the same primary metric")
        return Decision(False, tuple(reasons))
    if champion.suite_version != challenger.suite_version:
        reasons.append(f"suite {challenger.suite} version {challenger.suite_version} differs from {against}'s "
                       f"{champion.suite_version}; re-evaluate the champion on this version to compare")
        return Decision(False, tuple(reasons))
    beats, reason = compare(challenger.value, champion.value, f"{name} {challenger.value:.4g} vs {against} "
                            f"{champion.value:.4g}", margin, greater_is_better)
    reasons.append(reason)
    return Decision(passed and beats, tuple(reasons))


def compare(value: float, other: float, what: str, margin: float, greater_is_better: bool) -> tuple[bool, str]:
    """Does value beat other by more than the margin; and the sentence saying so."""
    gain = (value - other) * (1 if greater_is_better else -1)
    # A gain equal to the margin up to float rounding (0.51 - 0.5 = 0.010000000000000009) does not beat it.
    beats = gain - margin > FLOAT_TOLERANCE
    direction = "higher" if greater_is_better else "lower"
    return beats, (f"{what}: {'+' if gain >= 0 else ''}{gain:.4g} ({direction} is better) "
                   f"{'beats' if beats else 'does not beat'} the margin {margin:g}")
