"""Progress of long stages: counts, rate and an estimate, logged every few seconds.

A cold build of the Tehran Times corpus spends 8 s in ingest and 15 s in extraction, and printed
nothing for 8-13 s at a time (issue 17). Stage code marks its long loops:

    for text in progress.track(texts, "dating publication", unit="texts"):
        ...

and the Dagster asset that calls the stage turns reporting on around it:

    with progress.reporting(context.log.info):
        articles = ingest_articles(...)

so the lines go to the console and to the run's event log alike ("extract: extracting 12,480 of
33,660 articles (37%), 2,310/s, about 9 s left"). Without ``reporting`` (tests, the scale-out
job's worker processes) ``track`` and ``advance`` only count.

Cost: counting is an integer addition per item; the lines are written by a background thread that
wakes every ``EVERY_S`` seconds, never by the loop. On the corpus the build's wall time did not
move beyond its run-to-run noise (see README, Performance).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

EVERY_S = 3.0
T = TypeVar("T")


class Reporter:
    """Counts of the current phase, read by a heartbeat thread that logs them."""

    def __init__(self, log: Callable[[str], None] | None, every_s: float = EVERY_S, clock=time.monotonic):
        self.log = log
        self.every_s = every_s
        self.clock = clock
        self.phase_name = ""
        self.unit = "items"
        self.total: float | None = None
        self.count = 0.0
        self.started = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # The loop's side: cheap.
    def phase(self, name: str, total: float | None = None, unit: str = "items") -> None:
        self.phase_name, self.total, self.unit = name, total, unit
        self.count, self.started = 0.0, self.clock()

    def advance(self, n: float = 1.0) -> None:
        self.count += n

    # The heartbeat's side.
    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.count / elapsed
        done = f"{int(self.count):,}"
        if self.total:
            share = min(self.count / self.total, 1.0)
            text = f"{self.phase_name}: {done} of {int(self.total):,} {self.unit} ({share:.0%}), {rate:,.0f}/s"
            if rate > 0 and self.count < self.total:
                text += f", about {(self.total - self.count) / rate:,.0f} s left"
            return text
        return f"{self.phase_name}: {done} {self.unit} so far, {rate:,.0f}/s, {elapsed:,.0f} s in"

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            if self.phase_name and self.log is not None:
                self.log(self.line())

    def start(self) -> None:
        if self.log is not None:
            self._thread = threading.Thread(target=self._beat, name="progress", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


_current: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("credence_progress", default=None)
_SILENT = Reporter(None)


def current() -> Reporter:
    """The reporter ``reporting`` installed, else one that only counts."""
    return _current.get() or _SILENT


@contextlib.contextmanager
def reporting(log: Callable[[str], None], every_s: float = EVERY_S) -> Iterator[Reporter]:
    """Log the progress of the stage code run inside, every ``every_s`` seconds."""
    reporter = Reporter(log, every_s)
    token = _current.set(reporter)
    reporter.start()
    try:
        yield reporter
    finally:
        reporter.stop()
        _current.reset(token)


def phase(name: str, total: float | None = None, unit: str = "items") -> None:
    current().phase(name, total, unit)


def advance(n: float = 1.0) -> None:
    current().advance(n)


def track(items: Iterable[T], name: str, total: int | None = None, unit: str = "items") -> Iterator[T]:
    """``items``, counted under the phase ``name`` (``total`` defaults to ``len(items)``)."""
    reporter = current()
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    reporter.phase(name, total, unit)
    for item in items:
        yield item
        reporter.count += 1
