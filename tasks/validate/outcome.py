"""What a gate decided: which input rows are clean, which are quarantined and why, and whether the
dataset as a whole may go on (dataset-level failures stop the pipeline with `DataQualityError`).

Rows are identified by their position in the input (0-based); `label(position)` names a row to a
person: its manifest row index or JSONL line number, plus its id. Invariant: every input position is
either clean or quarantined, never both, never neither.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from tasks.validate.checks import CheckResult, condition_text, to_jsonable

EXAMPLES = 5  # rows named per failing expectation in messages


class DataQualityError(RuntimeError):
    """A dataset-level expectation failed: the stage must stop. `.outcome` holds the full result."""

    def __init__(self, outcome: "Outcome") -> None:
        self.outcome = outcome
        super().__init__(
            f"{outcome.gate}: {len(outcome.dataset_failures)} dataset-level check(s) failed; the quarantine "
            "file and the data-docs report list every row:\n- " + "\n- ".join(outcome.dataset_failures)
        )


@dataclass
class Outcome:
    gate: str
    ids: list[Any]  # per input position (None where a row has no readable id)
    results: list[CheckResult]
    max_failed_fraction: float
    locator: str = "row_index"  # how a person finds the row: "row_index" (0-based) or "line" (1-based)
    numbers: list[int] | None = None  # the locator's value per position; None: the position itself
    failures: dict[int, list[dict]] = field(default_factory=dict)  # position -> [{"check", "detail"}]
    dataset_failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.ids)

    def label(self, position: int) -> dict:
        number = position if self.numbers is None else self.numbers[position]
        return {self.locator: number, "id": to_jsonable(self.ids[position])}

    @property
    def quarantined_positions(self) -> list[int]:
        return sorted(self.failures)

    @property
    def clean_positions(self) -> list[int]:
        return [position for position in range(self.total) if position not in self.failures]

    @property
    def failed_fraction(self) -> float:
        return len(self.failures) / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return not self.dataset_failures

    def failed_checks(self, position: int) -> list[str]:
        return sorted({failure["check"] for failure in self.failures.get(position, [])})

    def raise_if_failed(self) -> None:
        if not self.passed:
            raise DataQualityError(self)

    def quarantine_records(self, rows: list[Any]) -> Iterable[dict]:
        """One record per quarantined position: where it was, every failed check with detail, the row."""
        for position in self.quarantined_positions:
            yield {**self.label(position), "checks": self.failures[position], "row": to_jsonable(rows[position])}

    def metrics(self) -> dict:
        by_check: dict[str, int] = {}
        for result in self.results:
            if result.check.per_row:
                by_check[result.check.name] = by_check.get(result.check.name, 0) + len(result.failing)
        return {
            "rows": self.total,
            "clean": len(self.clean_positions),
            "quarantined": len(self.failures),
            "failed_fraction": round(self.failed_fraction, 6),
            "passed": self.passed,
            "dataset_failures": len(self.dataset_failures),
            "failing_rows_by_check": dict(sorted(by_check.items())),
        }

    def summary_markdown(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [
            f"# {self.gate}: {verdict}",
            "",
            f"{self.total} rows: {len(self.clean_positions)} clean, {len(self.failures)} quarantined "
            f"({self.failed_fraction:.2%}; limit {self.max_failed_fraction:.2%}).",
            "",
            "| check | expectation | column | scope | result | failing rows | examples |",
            "|---|---|---|---|---|---|---|",
        ]
        for result in self.results:
            status = "error" if result.error else ("pass" if result.success else "fail")
            scope = "row" if result.check.per_row else "dataset"
            count = len(result.failing) if result.check.per_row else ""
            example = self.examples(result) if result.check.per_row else (result.error or result.observed)
            lines.append(f"| {result.check.name} | {result.expectation_type} | {_domain(result)} | {scope} | "
                         f"{status} | {count} | {_cell(example)} |")
        if self.dataset_failures:
            lines += ["", "## Dataset-level failures", ""]
            lines += [f"- {_cell(message)}" for message in self.dataset_failures]
        return "\n".join(lines)

    def banner_html(self, quarantine_url: str) -> str:
        """The gate's decision for the top of the data docs, above GX's own per-expectation "Failed" marks."""
        colour = "#1e7e34" if self.passed else "#bd2130"
        failures = "".join(f"<li>{html.escape(message)}</li>" for message in self.dataset_failures)
        return (
            f'<div id="gate-decision" style="margin:0;padding:12px 20px;background:{colour};color:#fff;'
            'font:15px/1.45 sans-serif">'
            f'<div style="font-size:20px;font-weight:bold">{html.escape(self.gate)}: '
            f'{"PASSED" if self.passed else "FAILED"}</div>'
            f"<div>{self.total} rows: {len(self.clean_positions)} clean, "
            f"<strong>{len(self.failures)} quarantined</strong> ({self.failed_fraction:.2%}; "
            f"limit {self.max_failed_fraction:.2%}); quarantined rows and why: {html.escape(quarantine_url)}</div>"
            + (f"<ul style='margin:4px 0'>{failures}</ul>" if failures else "")
            + '<div style="font-size:13px;opacity:.9">This is the gate\'s decision. GX marks a row-level '
            "expectation (and so the run) &quot;Failed&quot; when any row fails it: those rows are quarantined, "
            "and the gate decides on their fraction and on the dataset-level checks.</div></div>"
        )

    def describe_row(self, position: int) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.label(position).items())

    def examples(self, result: CheckResult) -> str:
        shown = list(result.failing.items())[:EXAMPLES]
        return "; ".join(f"{self.describe_row(position)}: {json.dumps(detail)}" for position, detail in shown)


def decide(gate: str, results: list[CheckResult], ids: list[Any], max_failed_fraction: float,
           locator: str = "row_index", numbers: list[int] | None = None) -> Outcome:
    """Collect row failures per position and turn the dataset-level rules into failure messages."""
    outcome = Outcome(gate=gate, ids=ids, results=results, max_failed_fraction=max_failed_fraction,
                      locator=locator, numbers=numbers)
    for result in results:
        for position, detail in result.failing.items():
            outcome.failures.setdefault(position, []).append({"check": result.check.name, "detail": detail})
        if result.error:
            outcome.dataset_failures.append(
                f"{result.check.name} ({result.expectation_type}) could not be evaluated: {result.error}")
        elif not result.check.per_row and not result.success:
            outcome.dataset_failures.append(
                f"{result.check.name} ({result.expectation_type}) failed: observed {json.dumps(result.observed)}, "
                f"expected {json.dumps(to_jsonable(_expected(result)))}")
    if outcome.failed_fraction > max_failed_fraction:
        outcome.dataset_failures.append(_too_many_failures(outcome))
    return outcome


def _expected(result: CheckResult) -> dict:
    kwargs = result.check.expectation.configuration.kwargs
    return {key: value for key, value in kwargs.items() if key not in ("result_format", "batch_id")}


def _too_many_failures(outcome: Outcome) -> str:
    per_check = [
        f"{result.check.name} ({result.expectation_type}): {len(result.failing)} rows, e.g. {outcome.examples(result)}"
        for result in outcome.results if result.failing
    ]
    return (f"{len(outcome.failures)} of {outcome.total} rows ({outcome.failed_fraction:.2%}) failed row-level checks, "
            f"above max_failed_fraction={outcome.max_failed_fraction:g}. By check: " + " | ".join(per_check))


def _domain(result: CheckResult) -> str:
    """The column(s) a check reads and, for a conditional one, which rows (e.g. `source == espeak-ng`)."""
    kwargs = result.check.expectation.configuration.kwargs
    columns = kwargs.get("column") or ", ".join(kwargs[key] for key in ("column_A", "column_B") if key in kwargs)
    where = condition_text(result.check.expectation)
    return f"{columns} where {where}" if where else columns


def _cell(value: Any) -> str:
    if value is None or value == "":
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."

