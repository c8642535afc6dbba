"""Item 3 of issue 18: one very long sentence made extraction quadratic (40k characters 3.2 s, 80k
13 s, a 1.9 MB text without a full stop about two hours), with no per-article budget. An article
over budget is now one quarantine row and the rest of the build goes on."""

from __future__ import annotations

import time

import polars as pl

from pipeline.extract.stage import extract_mentions
from pipeline.ingest.core import ingest_raw

SENTENCE = (
    "Kazakhstan's foreign minister met the Taliban delegation in Astana and the two sides signed a "
    "memorandum on trade, "
)


def _with_long_article(seed_raw, chars: int) -> pl.DataFrame:
    (seed_raw / "zz_long.txt").write_text((SENTENCE * (chars // len(SENTENCE) + 1))[:chars], encoding="utf-8")
    return ingest_raw(seed_raw).articles


def test_an_article_with_a_huge_sentence_is_quarantined_and_the_others_extracted(tmp_path, seed_raw):
    seeds = ingest_raw(seed_raw).articles
    expected, _ = extract_mentions(seeds, tmp_path / "plain")
    articles = _with_long_article(seed_raw, 150_000)
    long_id = articles.filter(pl.col("source_file") == "zz_long.txt")["article_id"][0]
    started = time.monotonic()
    mentions, stats = extract_mentions(articles, tmp_path / "cache")
    elapsed = time.monotonic() - started
    assert elapsed < 20, f"{elapsed:.1f} s: the long article was extracted (about 45 s at 150k characters)"
    assert mentions.equals(expected)  # the seeds' mentions, none of the long article's
    from pipeline.extract.stage import skipped_quarantine

    rows = skipped_quarantine(stats.skipped, articles)
    assert rows.height == 1
    row = rows.row(0, named=True)
    assert row["stage"] == "extract" and row["reason_code"] == "extraction_budget"
    assert row["record_id"] == long_id and row["source_file"] == "zz_long.txt"
    assert "150,000 characters" in row["reason"]
    # A rebuild takes it from the cache: not tried again, the same row.
    _, again = extract_mentions(articles, tmp_path / "cache")
    assert again.extracted == 0 and again.skipped.equals(stats.skipped)


def test_the_time_budget_stops_an_article_that_runs_too_long(tmp_path, seed_raw, monkeypatch):
    """The backstop for what the sentence cap does not bound: an extractor that hangs on one
    article is stopped when its budget runs out; the other articles are extracted."""
    from pipeline.extract import budget, extractor

    articles = ingest_raw(seed_raw).articles
    slow_id = articles["article_id"][2]
    real = extractor.code_article

    def hangs_on_one(article_id, *args):
        if article_id == slow_id:
            while True:
                time.sleep(0.01)
        return real(article_id, *args)

    monkeypatch.setattr(extractor, "code_article", hangs_on_one)
    monkeypatch.setattr(budget, "BUDGET_BASE_S", 0.5)
    mentions, stats = extract_mentions(articles, tmp_path)
    assert stats.skipped["article_id"].to_list() == [slow_id]
    assert "time budget" in stats.skipped["reason"][0]
    assert mentions.height > 0 and slow_id not in set(mentions["article_id"])
