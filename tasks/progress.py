"""One progress reporter for every long stage: a console bar with rate and ETA, and Prefect progress.

    with Progress(total=len(rows), desc="generate", unit="rows") as progress:
        for row in rows:
            ...
            progress.update(1, tok_s=f"{tokens / elapsed:.0f}")

- Console: a tqdm bar on a terminal; where stderr is not one (DVC or a CI log), a log line through the
  `destaflow.progress` logger every `log_interval_s`, with the same counts, rate and ETA, instead of a
  bar that would fill the log with carriage returns.
- Prefect: inside a flow or task run, a progress artifact (`create_progress_artifact`) that is updated at
  most every `prefect_interval_s` and once at the end, so a fast loop never floods the API. Outside a
  run it does nothing. A failing Prefect API never stops the work: progress is reported, not required.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Callable

from tqdm import tqdm

log = logging.getLogger("destaflow.progress")


def in_prefect_run() -> bool:
    """True inside a Prefect flow or task run. Prefect is never imported here just to find out."""
    if "prefect" not in sys.modules:
        return False
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def artifact_key(desc: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9]+", "-", desc.lower()).strip("-") + "-progress"


class PrefectProgress:
    """A throttled Prefect progress artifact; inert outside a run or after the API failed once."""

    def __init__(self, key: str, description: str, interval_s: float, clock: Callable[[], float]):
        self.key, self.interval_s, self.clock = key, interval_s, clock
        self.artifact_id = None
        self.last_sent = float("-inf")
        self.enabled = in_prefect_run()
        self.send(0.0, description, force=True)

    def send(self, percent: float, description: str, force: bool = False) -> None:
        if not self.enabled or (not force and self.clock() - self.last_sent < self.interval_s):
            return
        from prefect.artifacts import create_progress_artifact, update_progress_artifact

        try:  # _sync: generation reports from inside its event loop, where Prefect would return a coroutine
            if self.artifact_id is None:
                self.artifact_id = create_progress_artifact(percent, key=self.key, description=description,
                                                            _sync=True)
            else:
                update_progress_artifact(self.artifact_id, percent, description=description, _sync=True)
        except Exception as error:  # progress must never stop the work it reports on
            log.warning("Prefect progress for %s disabled: %s: %s", self.key, type(error).__name__, error)
            self.enabled = False
        self.last_sent = self.clock()


class Progress:
    """Counts finished units of a known total; shows them on the console and in Prefect."""

    def __init__(self, total: int, desc: str, unit: str = "it", *, key: str | None = None,
                 log_interval_s: float = 15.0, prefect_interval_s: float = 5.0, console: bool | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.total, self.desc, self.unit, self.clock = total, desc, unit, clock
        self.n = 0
        self.postfix: dict[str, object] = {}
        self.started = clock()
        self.log_interval_s = log_interval_s
        self.last_logged = self.started
        interactive = sys.stderr.isatty() if console is None else console
        self.bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=True) if interactive else None
        self.prefect = PrefectProgress(key or artifact_key(desc), self.describe(), prefect_interval_s, clock)

    def update(self, n: int = 1, **postfix: object) -> None:
        """`n` more units done; `postfix` (e.g. tok_s=61) is shown beside the counts until replaced."""
        self.n += n
        self.postfix.update(postfix)
        if self.bar is not None:
            self.bar.set_postfix(self.postfix, refresh=False)
            self.bar.update(n)
        elif self.clock() - self.last_logged >= self.log_interval_s:
            self.last_logged = self.clock()
            log.info("%s", self.describe())
        self.prefect.send(self.percent(), self.describe())

    def percent(self) -> float:
        return 100.0 * min(self.n, self.total) / self.total if self.total else 100.0

    def describe(self) -> str:
        """`generate: 120/350 rows [01:10<02:14, 1.71 rows/s, tok_s=61]`: counts, elapsed<ETA, rate."""
        elapsed = self.clock() - self.started
        postfix = ", ".join(f"{key}={value}" for key, value in self.postfix.items())
        return tqdm.format_meter(self.n, self.total, elapsed, prefix=self.desc, unit=self.unit, ncols=0,
                                 postfix=postfix or None)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            log.info("%s", self.describe())
        self.prefect.send(self.percent(), self.describe(), force=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
