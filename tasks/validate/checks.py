"""Great Expectations plumbing shared by both gates.

A gate describes its rules as `Check`s (a stable name + one GX expectation); `GxRun` evaluates them on
a pandas frame inside one ephemeral GX context per run (GX is slow to start) and reads the per-row
failures back from COMPLETE results, so quarantine and report come from the same GX evaluation.
Validation results stay in the context's in-memory store; `publish` renders them once as data docs
into a scratch folder, makes them work offline (tasks/validate/report.py) and copies that to the report URL.
"""

from __future__ import annotations

import os

# GX reads this when it starts: no usage statistics leave the machine.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import math  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import great_expectations as gx  # noqa: E402
import pandas as pd  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations import Expectation  # noqa: E402

from tasks.storage import replace_dir  # noqa: E402
from tasks.validate.report import make_offline  # noqa: E402

SITE_NAME = "report"


@dataclass(frozen=True)
class Check:
    """One rule of a gate. Row checks quarantine the rows they fail; dataset checks stop the pipeline."""

    name: str
    expectation: Expectation
    per_row: bool = True
    # Turns GX's unexpected value for a row into the quarantine detail (default: the value itself).
    detail: Callable[[Any], Any] | None = None


@dataclass
class CheckResult:
    check: Check
    success: bool
    failing: dict[int, Any] = field(default_factory=dict)  # row position -> detail
    observed: Any = None
    error: str | None = None  # GX could not evaluate the expectation (e.g. a missing column)

    @property
    def expectation_type(self) -> str:
        return self.check.expectation.expectation_type


class GxRun:
    """One in-memory GX context for a whole gate run; data docs go to a scratch folder until published."""

    def __init__(self) -> None:
        self._docs_dir = tempfile.mkdtemp(prefix="gx-docs-")
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            data_docs_sites={
                SITE_NAME: {
                    "class_name": "SiteBuilder",
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": self._docs_dir},
                }
            },
        )
        self.context = gx.get_context(project_config=config)
        self._source = self.context.data_sources.add_pandas("frames")
        self._names: set[str] = set()

    def _unique(self, name: str) -> str:
        candidate, number = name, 1
        while candidate in self._names:
            number += 1
            candidate = f"{name}-{number}"
        self._names.add(candidate)
        return candidate

    def validate(self, name: str, frame: pd.DataFrame, checks: list[Check]) -> list[CheckResult]:
        """Evaluate `checks` on `frame` (row positions = its RangeIndex); results in `checks` order."""
        name = self._unique(name)
        frame = frame.reset_index(drop=True)
        expectations = [
            check.expectation.copy(update={"id": None, "description": describe(check), "meta": {
                "check": check.name, "scope": "row" if check.per_row else "dataset", "number": number}})
            for number, check in enumerate(checks)
        ]
        # The suite is stored once with all expectations: adding them one by one re-serialises it each time.
        suite = self.context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        batch = self._source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all rows")
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite))
        # COMPLETE: every failing row's index, not a sample; the quarantine needs all of them.
        validation = definition.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "COMPLETE"})
        by_number = {result.expectation_config.meta["number"]: result for result in validation.results}
        return [_read_result(check, by_number[number], frame) for number, check in enumerate(checks)]

    def publish(self, report_url: str, banner_html: str) -> None:
        """Build this run's data docs (every validation so far), made to work offline with `banner_html`
        (the gate's decision) on top of every page, and replace the report folder with them."""
        self.context.build_data_docs(site_names=[SITE_NAME])
        make_offline(Path(self._docs_dir), banner_html)
        replace_dir(Path(self._docs_dir), report_url)

    def close(self) -> None:
        shutil.rmtree(self._docs_dir, ignore_errors=True)

    def __enter__(self) -> "GxRun":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def condition_text(expectation: Expectation) -> str:
    """A conditional expectation's row filter as text (e.g. `source == espeak-ng`), "" for none."""
    condition = getattr(expectation, "row_condition", None)
    if condition is None:
        return ""
    return " and ".join(map(repr, getattr(condition, "conditions", [condition])))


def describe(check: Check) -> str:
    """The data-docs line of a check: its gate name first, so report and quarantine use the same words."""
    hidden = ("batch_id", "result_format", "row_condition", "condition_parser")
    kwargs = {key: value for key, value in check.expectation.configuration.kwargs.items() if key not in hidden}
    arguments = ", ".join(f"{key}={_short(value)}" for key, value in kwargs.items())
    where = condition_text(check.expectation)
    scope = "row check: failing rows are quarantined" if check.per_row else "dataset check: failure stops the stage"
    return (f"{check.name} ({scope}) — {check.expectation.expectation_type}({arguments})"
            + (f" where {where}" if where else ""))


def _short(value: Any, limit: int = 8) -> str:
    if isinstance(value, (list, tuple)) and len(value) > limit:
        return "[" + ", ".join(map(str, value[:limit])) + f", ... (+{len(value) - limit})]"
    return str(value)


def _read_result(check: Check, result, frame: pd.DataFrame) -> CheckResult:
    error = _exception_message(result.exception_info)
    details = result.result or {}
    failing: dict[int, Any] = {}
    if check.per_row and error is None:
        # COMPLETE lists every failing index, but GX caps the unexpected *values* at 200: read them here.
        indices = [int(index) for index in details.get("unexpected_index_list") or []]
        values = _values_at(frame, check.expectation.configuration.kwargs, indices)
        describe = check.detail or (lambda value: value)
        failing = {index: to_jsonable(describe(value)) for index, value in zip(indices, values)}
    return CheckResult(
        check=check,
        success=bool(result.success) and error is None,
        failing=failing,
        observed=to_jsonable(details.get("observed_value", details.get("details"))),
        error=error,
    )


def _values_at(frame: pd.DataFrame, kwargs: dict, indices: list[int]) -> list[Any]:
    """The checked value of each row: one column's value, or an (A, B) pair for column-pair expectations."""
    if "column" in kwargs:
        return frame[kwargs["column"]].to_numpy()[indices].tolist()
    pairs = zip(frame[kwargs["column_A"]].to_numpy()[indices], frame[kwargs["column_B"]].to_numpy()[indices])
    return [tuple(pair) for pair in pairs]


def _exception_message(info: dict | None) -> str | None:
    """GX reports exceptions flat ({raised_exception, ...}) or keyed by metric id; return the first message."""
    if not info:
        return None
    if "raised_exception" in info:
        return info.get("exception_message") if info["raised_exception"] else None
    for nested in info.values():
        if isinstance(nested, dict) and nested.get("raised_exception"):
            return nested.get("exception_message") or "GX could not evaluate this expectation"
    return None


def to_jsonable(value: Any) -> Any:
    """Plain JSON values (numpy scalars unwrapped, NaN/inf as strings, tuples as lists) for reports."""
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        try:
            value = value.item()
        except (ValueError, TypeError):
            return str(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
