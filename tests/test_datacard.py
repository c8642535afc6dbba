"""The data card (README.md of a release): measured quality read from the committed record, date
precision shares, limitations, coverage from dated events only, codebook.md shipped."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from pipeline.release.datacard import render_extras
from pipeline.release.publish import Provenance, ReleaseTables, write_release
from pipeline.release.quality_record import load_quality_record
from schemas.models import Article, Event, Mention, Quarantine, empty_frame
from tests.test_site import event_row, publish

RECORD = {
    "date": "2026-12-01T10:00:00+00:00",
    "commit": "abc1234",
    "config": "examples/gold/quality.yaml",
    "rules": {},
    "sets": {
        "tehran_dev": {
            "gold": "examples/gold/tehran_dev/tehran_dev_gold.yaml",
            "raw": "examples/gold/tehran_dev/raw",
            "check_part": "clusters J, K and L",
            "parts": {
                part: {
                    "n_articles": n,
                    "n_gold_events": 10,
                    "n_gold_required": 8,
                    "mention": {"precision": 0.71, "recall": 0.41},
                    "event": {"precision": 0.67, "recall": 0.40},
                    "pairs": {"precision": 0.43, "recall": 0.85},
                    "date_errors": 6,
                }
                for part, n in (("tune", 36), ("check", 13), ("all", 49))
            },
        }
    },
    "all": {
        "per_type": {
            "meet": {
                "mention": {"precision": 0.77, "recall": 0.47, "n_matched": 38, "n_required": 80},
                "event": {"precision": 0.73, "recall": 0.38, "n_matched": 18, "n_required": 48},
                "date_errors": 0,
            }
        }
    },
}


@pytest.fixture
def record(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "quality.json"
    path.write_text(json.dumps(RECORD), encoding="utf-8")
    monkeypatch.setenv("CREDENCE_QUALITY_RECORD", str(path))
    return path


def card_of(outputs: Path, rows: list[dict]) -> tuple[str, Path]:
    version = publish(outputs, rows, "2026-01-01")
    folder = outputs / "releases" / version
    return (folder / "README.md").read_text(encoding="utf-8"), folder


def test_card_reports_the_recorded_quality_with_its_date_and_code_version(tmp_path: Path, record: Path):
    card, folder = card_of(tmp_path / "out", [event_row("a", "2024-01-05")])
    assert "## How good is this?" in card
    assert "2026-12-01T10:00:00+00:00" in card and "`abc1234`" in card
    assert "Development sets flatter" in card
    assert "| tehran_dev | check (held out) | 13 | 8 | 0.71 | 0.41 | 0.67 | 0.40 | 0.43 | 0.85 | 6 |" in card
    assert "| `meet` | 0.77 | 0.47 | 38/80 | 0.73 | 0.38 | 18/48 |" in card
    # Built by other code than the record measured: the card says so.
    assert "the figures describe the code that was measured" in card
    assert json.loads((folder / "quality.json").read_text(encoding="utf-8")) == RECORD
    assert (folder / "codebook.md").read_text(encoding="utf-8").startswith("# Credence codebook")
    sums = (folder / "SHA256SUMS").read_text(encoding="utf-8")
    assert "  quality.json\n" in sums and "  codebook.md\n" in sums


def test_card_says_plainly_when_no_quality_was_recorded(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CREDENCE_QUALITY_RECORD", str(tmp_path / "none.json"))
    card, folder = card_of(tmp_path / "out", [event_row("a", "2024-01-05")])
    assert "**Not measured.** No quality record (none.json is missing" in card
    assert "read its rows as unverified" in card
    assert not (folder / "quality.json").exists()


def test_an_unreadable_record_is_named_not_used(tmp_path: Path):
    path = tmp_path / "quality.json"
    path.write_text('{"date": "x"}', encoding="utf-8")
    rec = load_quality_record(path)
    assert not rec.usable and "cannot be read (KeyError" in rec.problem


def test_coverage_counts_dated_events_only_and_gives_the_precision_shares(tmp_path: Path, record: Path):
    rows = [event_row(f"d{i}", f"2020-0{1 + i}-10") for i in range(4)]
    rows.append(event_row("old", "1828-02-10", date_end=None, date_precision="year"))  # open-ended
    rows.append(event_row("none", None))
    card, _ = card_of(tmp_path / "out", rows)
    assert "**Dated events**: 4 of 6 (66.7%)" in card
    assert "all of them from 2020-01-10 to 2020-04-10" in card and "1828" not in card.split("## Known")[0]
    assert "| `day` | 4 | 66.7% |" in card and "| `unknown` | 1 | 16.7% |" in card
    assert "Events by date precision (1 events with a precision other than `unknown` have" in card
    assert "## Known limitations" in card and "cameo_code" in card


def test_quality_record_knows_when_it_measured_this_code():
    rec = load_quality_record(Path("/nonexistent"))
    assert not rec.usable
    rec.commit = "abc1234"
    assert rec.matches_code("abc1234ffff") and not rec.matches_code("def5678")
    rec.commit = "abc1234-dirty"
    assert not rec.matches_code("abc1234ffff")


def test_card_of_a_release_without_events(tmp_path: Path, record: Path):
    registry = pl.DataFrame(schema={"mention_id": pl.String, "event_id": pl.String})
    tables = [empty_frame(m) for m in (Event, Mention, Article, Quarantine)]
    outcome = write_release(
        tmp_path / "out",
        ReleaseTables(*tables, registry, None),
        Provenance("test", "dict", "inputs", "raw"),
        today=dt.date(2026, 1, 1),
        render_extras=render_extras,
    )
    card = (outcome.path / "README.md").read_text(encoding="utf-8")
    assert "- No events in this release." in card
    assert (outcome.path / "timeline.png").is_file()
