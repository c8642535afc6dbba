"""Progress of long stages (pipeline/progress.py): counts, rate and an estimate, logged by a
background thread every few seconds while a stage runs under ``reporting``."""

from __future__ import annotations

import time

from pipeline import progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_line_gives_count_share_rate_and_time_left():
    clock = Clock()
    r = progress.Reporter(None, clock=clock)
    r.phase("extracting", total=1000, unit="articles")
    clock.now += 4
    r.advance(400)
    assert r.line() == "extracting: 400 of 1,000 articles (40%), 100/s, about 6 s left"
    r.phase("reading bundle.jsonl.gz", unit="lines")
    clock.now += 2
    r.advance(3000)
    assert r.line() == "reading bundle.jsonl.gz: 3,000 lines so far, 1,500/s, 2 s in"


def test_track_counts_items_and_takes_the_total_from_the_list():
    r = progress.Reporter(None)
    token = progress._current.set(r)
    try:
        assert list(progress.track(["a", "b", "c"], "language", unit="texts")) == ["a", "b", "c"]
    finally:
        progress._current.reset(token)
    assert (r.phase_name, r.total, r.count, r.unit) == ("language", 3, 3, "texts")


def test_reporting_logs_from_a_thread_while_the_stage_runs_and_stops_after():
    lines: list[str] = []
    with progress.reporting(lines.append, every_s=0.05):
        for _ in progress.track(range(5), "slow loop", total=5, unit="steps"):
            time.sleep(0.05)
    seen = len(lines)
    assert seen >= 2 and all(line.startswith("slow loop: ") for line in lines)
    assert any("of 5 steps" in line for line in lines)
    time.sleep(0.15)
    assert len(lines) == seen  # the heartbeat stopped with the stage


def test_without_reporting_stage_code_only_counts():
    assert progress.current().log is None
    assert list(progress.track([1, 2], "quiet")) == [1, 2]
    progress.advance(5)  # no reporter installed: nothing is logged, nothing fails
