"""Faults of issue 18 in what a build reads: bundles of blank lines (item 2), mixed encodings
(item 7), sources.csv with a duplicate column or a row naming a symlink (item 8)."""

from __future__ import annotations

import gzip
import json
import os
import shutil

import polars as pl

from pipeline.ingest.core import ingest_raw
from tests.conftest import SEEDS

ENGLISH = (
    "ASTANA - Kazakhstan's Foreign Minister met a delegation of the Taliban in Astana on Tuesday, the "
    "ministry said. The two sides signed a memorandum on transit trade and agreed to hold further talks."
)


def _bundle(path, lines: list[bytes]) -> None:
    with gzip.open(path, "wb") as f:
        f.writelines(lines)


def _rows(result, prefix: str) -> pl.DataFrame:
    return result.quarantine.filter(pl.col("source_file").str.starts_with(prefix))


def test_a_bundle_of_blank_lines_costs_one_quarantine_row(tmp_path):
    """Item 2. 300,000 blank lines (a 300 KB gzip of about 300 bytes) made one quarantine row per
    line. A run of lines with the same reason is one row with the count and the line range."""
    raw = tmp_path / "raw"
    raw.mkdir()
    article = json.dumps({"text": ENGLISH}).encode() + b"\n"
    _bundle(raw / "blank.jsonl.gz", [article] + [b"\n"] * 300_000 + [article.replace(b"Tuesday", b"Monday")])
    result = ingest_raw(raw)
    rows = _rows(result, "blank.jsonl.gz")
    assert rows.height == 1, rows
    row = rows.row(0, named=True)
    assert row["reason_code"] == "blank_line" and row["line"] == 2
    assert "300,000" in row["reason"] and "2-300,001" in row["reason"], row
    assert result.articles.height == 2  # the articles around the run are kept


def test_quarantine_rows_per_input_are_capped(tmp_path):
    """Item 2. Problems that do not form runs (alternating reasons) stop at a cap per input; one
    more row says how many were left out, by reason."""
    from pipeline.ingest.core import MAX_QUARANTINE_ROWS_PER_INPUT as cap

    raw = tmp_path / "raw"
    raw.mkdir()
    lines = [b"\n", b"[1]\n"] * (cap * 3)
    _bundle(raw / "noisy.jsonl.gz", lines)
    result = ingest_raw(raw)
    rows = _rows(result, "noisy.jsonl.gz")
    assert rows.height == cap + 1, rows.height
    last = rows.filter(pl.col("reason_code") == "too_many_problems")
    assert last.height == 1
    left_out = len(lines) - cap
    assert f"{left_out:,}" in last["reason"][0], last["reason"][0]
    assert "blank_line" in last["detail"][0] and "not_an_object" in last["detail"][0]


def test_utf8_text_with_one_latin1_line_is_repaired_line_by_line_and_reported(tmp_path):
    """Item 7. A UTF-8 text with one latin-1 line was decoded whole with a legacy codec (mojibake
    in every UTF-8 line), silently. Now each line is decoded on its own and the repair is reported."""
    raw = tmp_path / "raw"
    raw.mkdir()
    utf8 = f"{ENGLISH}\n\nThe minister’s envoy — Mr Tokayev’s aide — said “talks went well”.\n".encode()
    latin1 = "The café in Astana hosted the délégation.\n".encode("latin-1")
    (raw / "mixed.txt").write_bytes(utf8 + latin1 + "Ending line ’quoted’.\n".encode())
    result = ingest_raw(raw)
    assert result.articles.height == 1
    text = result.articles["text"][0]
    assert "minister’s envoy — Mr Tokayev’s" in text and "“talks went well”" in text
    assert "The café in Astana hosted the délégation." in text
    assert "â€" not in text
    rows = _rows(result, "mixed.txt")
    assert rows.height == 1
    row = rows.row(0, named=True)
    assert row["reason_code"] == "encoding_repaired" and row["record_id"] == result.articles["article_id"][0]
    assert "line 4" in row["reason"], row


def test_sources_csv_duplicate_column_is_reported_and_the_first_is_used(seed_raw):
    """Item 8. A header naming a column twice kept the last one's values, silently."""
    name = sorted(p.name for p in seed_raw.glob("*.txt"))[0]
    (seed_raw / "sources.csv").write_text(f"file,outlet,url,outlet\n{name},First,,Second\n", encoding="utf-8")
    result = ingest_raw(seed_raw)
    outlet = result.articles.filter(pl.col("source_file") == name)["outlet"][0]
    assert outlet == "First"
    rows = _rows(result, "sources.csv")
    assert rows.height == 1 and "outlet" in rows["reason"][0] and "twice" in rows["reason"][0], rows


def test_sources_csv_row_naming_a_symlink_is_reported(seed_raw):
    """Item 8. A row naming a symlink inside the raw folder was applied to the link's target (and
    the link itself, a duplicate text, was dropped): nothing said so."""
    target = sorted(p.name for p in seed_raw.glob("*.txt"))[0]
    os.symlink(target, seed_raw / "zz_link.txt")
    (seed_raw / "sources.csv").write_text("file,outlet\nzz_link.txt,Link Outlet\n", encoding="utf-8")
    result = ingest_raw(seed_raw)
    assert result.articles.filter(pl.col("source_file") == target)["outlet"][0] is None
    rows = _rows(result, "sources.csv")
    assert rows.height == 1, rows
    assert "symlink" in rows["reason"][0] and target in rows["detail"][0], rows


def test_seeds_ingest_unchanged_by_the_bounds(tmp_path):
    """The caps change nothing for ordinary input: the seeds give the same rows as before."""
    raw = tmp_path / "raw"
    shutil.copytree(SEEDS, raw, ignore=shutil.ignore_patterns("*.csv"))
    result = ingest_raw(raw)
    assert result.articles.height == 5 and result.quarantine.height == 0


def test_a_run_of_blank_lines_of_several_kinds_is_one_row(tmp_path):
    """Bare newlines are skipped in bulk, whitespace-only and CRLF lines one by one: one run all the
    same, and the article after it keeps its line number."""
    raw = tmp_path / "raw"
    raw.mkdir()
    article = json.dumps({"text": ENGLISH}).encode()
    _bundle(
        raw / "b.jsonl.gz",
        [article + b"\n", b"\n" * 3, b"  \n", b"\r\n", b"\n\n", article.replace(b"Tuesday", b"Friday")],
    )
    result = ingest_raw(raw)
    rows = _rows(result, "b.jsonl.gz")
    assert rows.select("line", "reason_code").rows() == [(2, "blank_line")], rows
    assert "7 lines in a row: lines 2-8" in rows["reason"][0]
    assert result.articles["source_file"].to_list() == ["b.jsonl.gz#L1", "b.jsonl.gz#L9"]
