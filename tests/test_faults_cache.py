"""The extraction cache after a killed build: dead writers' temporaries are removed, live ones kept;
two builds take turns on the cache."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import polars as pl
import pytest

from pipeline import storage
from pipeline.cache import StageCache
from pipeline.extract import cache
from schemas.models import Mention, empty_frame


def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".mentions-abc.parquet.{dead.pid}.tmp"
    live = tmp_path / f".mentions-abc.parquet.{os.getpid()}.tmp"
    odd = tmp_path / ".articles-abc.parquet.notapid.tmp"
    kept = tmp_path / "mentions-abc.parquet"
    for p in (stale, live, odd, kept):
        p.write_bytes(b"x")
    storage.remove_dead_temporaries(tmp_path)
    assert not stale.exists() and not odd.exists()
    assert live.exists() and kept.exists()


def test_two_extractions_on_one_cache_take_turns(tmp_path, monkeypatch):
    """The second waits for the first and then reuses its work: nothing is extracted twice, and the
    cache's mentions and done-list stay a pair."""
    from pipeline.extract.budget import SKIPPED

    calls, inside, overlap = [], [0], [False]

    def slow_extract(articles: pl.DataFrame, workers: int, *args, **kwargs) -> tuple[pl.DataFrame, pl.DataFrame]:
        inside[0] += 1
        overlap[0] |= inside[0] > 1
        calls.append(articles.height)
        time.sleep(0.3)
        inside[0] -= 1
        return empty_frame(Mention), pl.DataFrame(schema=SKIPPED)

    monkeypatch.setattr(cache, "extract_parallel", slow_extract)
    articles = pl.DataFrame(
        {
            "article_id": ["a0000000000000001", "a0000000000000002"],
            "text": ["x", "y"],
            "title": [None, None],
            "published_at": [None, None],
            "published_after": [None, None],
        }
    )
    stage = StageCache(tmp_path, cache.STAGE, "f" * 64)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.extract_incremental(articles, stage, 1)[1]))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlap[0]
    assert sorted(calls) == [2] or sorted(calls) == [0, 2]
    assert sorted(s.extracted for s in results) == [0, 2]
    done = pl.read_parquet(tmp_path / "extract" / ("f" * 20) / cache.DONE_FILE)["article_id"].to_list()
    assert done == articles["article_id"].to_list()


PARALLEL_SCRIPT = """
import sys
import polars as pl
from pipeline.text.lexicon import role_lower_bounds
from pipeline.extract.cache import ARTICLE_FIELDS, PARALLEL_MIN_ARTICLES, extract_parallel
from pipeline.ingest.core import ingest_raw


def main():
    seeds = ingest_raw(sys.argv[1], publication_hints=role_lower_bounds).articles.select(ARTICLE_FIELDS)
    rows = seeds.sample(PARALLEL_MIN_ARTICLES, with_replacement=True, seed=1).with_row_index("i")
    articles = rows.with_columns(
        pl.format("a{}", pl.col("i").cast(pl.String).str.zfill(16)).alias("article_id"),
        (pl.col("text") + pl.lit("\\n\\nNote ") + pl.col("i").cast(pl.String) + pl.lit(".")).alias("text"),
    ).select(ARTICLE_FIELDS).sort("article_id")  # polars work in this process before the pool starts
    serial, _ = extract_parallel(articles, 1)
    parallel, _ = extract_parallel(articles, 2)
    assert serial.height > 0
    assert serial.sort("mention_id").equals(parallel.sort("mention_id")), "parallel differs from serial"
    print("ok", serial.height)


if __name__ == "__main__":
    main()
"""


def test_parallel_extraction_after_polars_work_finishes_and_matches_serial(tmp_path):
    """A process that has run polars operations must not fork workers that use polars: their first
    polars call waits forever (the 33k-article build hung so). The pool must finish, and give what
    one process gives."""
    from tests.conftest import PROJECT, SEEDS

    script = tmp_path / "parallel_check.py"
    script.write_text(PARALLEL_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    try:
        out = subprocess.run(
            [sys.executable, str(script), str(SEEDS)],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("parallel extraction hung (workers forked after polars ran?)") from None
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("ok")


DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "zeroed": lambda data: bytes(len(data)),
    "random": lambda data: os.urandom(len(data)),
    "empty": lambda data: b"",
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("name", ["mentions.parquet", "articles.parquet"])
def test_a_damaged_extraction_cache_is_rebuilt_with_a_warning(tmp_path, seed_raw, damage, name, caplog):
    """Item 4. A truncated, zeroed or random extraction cache file made every later build fail until
    someone deleted .cache. Now the file is a cache miss: a warning names it, the articles are
    extracted again (the same mentions), and the file is rewritten readable."""
    from pipeline.extract.stage import extract_mentions
    from pipeline.ingest.core import ingest_raw

    articles = ingest_raw(seed_raw).articles
    first, _ = extract_mentions(articles, tmp_path)
    (target,) = (tmp_path / "extract").glob(f"*/{name}")
    target.write_bytes(DAMAGE[damage](target.read_bytes()))
    with caplog.at_level(logging.WARNING):
        again, stats = extract_mentions(articles, tmp_path)
    assert again.equals(first)
    assert stats.extracted == articles.height
    assert any(str(target) in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    pl.read_parquet(target)  # rewritten whole
    _, stats = extract_mentions(articles, tmp_path)
    assert stats.extracted == 0
