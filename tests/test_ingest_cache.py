"""Incremental ingest (pipeline/ingest/cache.py): a cached ingest is always the uncached one."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.ingest import core, parallel
from pipeline.ingest.cache import SUBDIR, fingerprint
from pipeline.ingest.core import IngestLimits, ingest_raw
from tests.test_ingest import ENGLISH, FRENCH, HEADLINE, SMALL_LIMITS, article, write


def hints(text: str) -> list[dt.date]:
    return [dt.date(2021, 8, 15)] if "Astana" in text else []


def build(raw: Path) -> None:
    """Bundles, single files, sources.csv, bad inputs and duplicates across inputs."""
    write(raw / "a1_first.txt", f"{HEADLINE}\n\nKABUL, AFGHANISTAN – {ENGLISH}\n")
    write(raw / "a2_meta.txt", article(1))
    write(raw / "a3_dup_of_bundle_line.txt", article(20))  # the bundle line below sorts later: it is the duplicate
    write(raw / "a4_cp1252.txt", f"Caf\xe9 talks in Kabul\n{ENGLISH}".encode("cp1252"))
    write(raw / "empty.txt", b"")
    write(raw / "binary.txt", bytes(range(256)) * 8)
    write(raw / "french.txt", FRENCH)
    write(raw / "boilerplate_only.txt", "Read more: something else\nPublished\n")
    write(raw / "notes.md", "# not an article type")
    write(
        raw / "page.html",
        (
            "<html lang='en'><head><meta property='article:published_time' content='not a date'></head>"
            f"<body><article><h1>{HEADLINE} in HTML</h1><p>{ENGLISH}</p></article></body></html>"
        ),
    )
    write(raw / ".hidden.txt", article(2))
    lines = [
        json.dumps({"text": article(20), "title": "Bundle title", "published_at": "2024-08-21", "language": "en"}),
        '{"text": "broken',
        json.dumps({"text": article(21), "published_at": "21/08/2024"}),
        json.dumps({"text": article(1)}),  # = a2_meta.txt, which sorts first ("a..." < "bundles/")
        json.dumps({"text": FRENCH}),
        json.dumps({"slug": "no text"}),
        json.dumps({"text": "   "}),
        json.dumps({"text": f"Wednesday, August 21\n{ENGLISH} Talks in Astana."}),
    ]
    write(raw / "bundles/b.jsonl", "\n".join(lines) + "\n")
    write(
        raw / "bundles/c.jsonl.gz",
        gzip.compress("\n".join(json.dumps({"text": article(30 + i)}) for i in range(3)).encode()),
    )
    good_gz = gzip.compress("\n".join(json.dumps({"text": article(50 + i)}) for i in range(200)).encode())
    write(raw / "bundles/truncated.jsonl.gz", good_gz[: len(good_gz) // 2])
    write(
        raw / "sources.csv",
        "\n".join(
            [
                "file,outlet,url,published_at,language",
                "a2_meta.txt,Khaama Press,https://example.org/c,2024-08-22,en",
                "a4_cp1252.txt,Legacy Daily,,2024-13-45,",
                "missing.txt,Ghost,,2024-01-01,en",
                "bundles/b.jsonl,Ignored,,,",
            ]
        )
        + "\n",
    )


def check(raw: Path, cache: Path, limits: IngestLimits = SMALL_LIMITS):
    """Ingest with and without the cache; the frames must be identical (rows, order, values)."""
    plain = ingest_raw(raw, limits, publication_hints=hints)
    cached = ingest_raw(raw, limits, publication_hints=hints, cache_dir=cache)
    assert_frame_equal(cached.articles, plain.articles)
    assert_frame_equal(cached.quarantine, plain.quarantine)
    assert cached.articles.equals(plain.articles) and cached.quarantine.equals(plain.quarantine)
    assert plain.cache is None
    return cached


def cache_files(cache: Path) -> list[Path]:
    return sorted((cache / SUBDIR).glob("*/*.parquet"))


@pytest.fixture
def raw(tmp_path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    build(raw)
    return raw


def test_cached_ingest_is_the_uncached_one_through_changes(raw, tmp_path):
    cache = tmp_path / "cache"
    cold = check(raw, cache)
    assert (cold.cache.reused, cold.cache.read, cold.cache.written) == (0, 13, True)
    # The fixture exercises what it should: duplicates across inputs, bad metadata, bad inputs.
    codes = set(cold.quarantine["reason_code"])
    assert {
        "duplicate_text",
        "bad_metadata",
        "empty_file",
        "binary_file",
        "non_english",
        "only_boilerplate",
        "broken_json",
        "missing_text",
        "empty_text",
        "corrupt_bundle",
        "unsupported_type",
    } <= codes
    assert len(cache_files(cache)) == 3 + 2  # one file per bundle, the single files, the analyses

    warm = check(raw, cache)
    assert (warm.cache.reused, warm.cache.read, warm.cache.written) == (13, 0, False)

    # A new file whose text is a bundle line's, sorting before it: the line becomes the duplicate.
    write(raw / "a0_new.txt", article(21))
    step = check(raw, cache)
    assert (step.cache.reused, step.cache.read) == (13, 1)
    assert "a0_new.txt" in set(step.articles["source_file"])
    # A new text: only the bundle-free files and a small delta of analyses are written.
    before = {f.name: f.stat().st_mtime_ns for f in cache_files(cache)}
    write(raw / "a00_newer.txt", article(900))
    step = check(raw, cache)
    after = {f.name: f.stat().st_mtime_ns for f in cache_files(cache)}
    assert {n for n in after if before.get(n) != after[n]} == {"files.parquet", "analyses-delta.parquet"}
    check(raw, cache)  # and read back
    (raw / "a00_newer.txt").unlink()

    # A bundle changed in place, same size and same mtime: found by its content hash.
    bundle = raw / "bundles/b.jsonl"
    st = bundle.stat()
    data = bundle.read_bytes()
    assert b"number 21" in data
    bundle.write_bytes(data.replace(b"number 21", b"number 29"))
    os.utime(bundle, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert bundle.stat().st_size == st.st_size
    step = check(raw, cache)
    assert (step.cache.reused, step.cache.read) == (13, 1)
    assert "bundles/b.jsonl#L3" in set(step.articles["source_file"])  # no longer a duplicate of a0_new.txt

    # A sources.csv row changed: that file's metadata (and only that file) is read again.
    src = raw / "sources.csv"
    src.write_text(
        src.read_text().replace(
            "Khaama Press,https://example.org/c,2024-08-22", "Other Outlet,https://example.org/c,2023-01-02"
        )
    )
    step = check(raw, cache)
    assert (step.cache.reused, step.cache.read) == (13, 1)
    row = step.articles.filter(pl.col("source_file") == "a2_meta.txt").row(0, named=True)
    assert (row["outlet"], row["published_at"]) == ("Other Outlet", dt.date(2023, 1, 2))

    # A file deleted: the bundle line it duplicated is kept (and analysed) again.
    (raw / "a3_dup_of_bundle_line.txt").unlink()
    step = check(raw, cache)
    assert (step.cache.reused, step.cache.read) == (13, 0)
    assert "bundles/b.jsonl#L1" in set(step.articles["source_file"])

    # A bundle deleted: its cache file goes too (the cache holds only current inputs).
    (raw / "bundles/c.jsonl.gz").unlink()
    check(raw, cache)
    assert len([f for f in cache_files(cache) if f.name.startswith("entry-")]) == 2
    check(raw, cache)


def test_warm_call_does_not_read_an_unchanged_bundle_again(raw, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = ingest_raw(raw, SMALL_LIMITS, publication_hints=hints, cache_dir=cache)

    def no_reading(*args, **kwargs):
        raise AssertionError("an unchanged input was read again")

    monkeypatch.setattr(core, "read_bundle", no_reading)
    for name in ("_ingest_file", "guess_english", "analyze"):
        monkeypatch.setattr(core, name, no_reading)
    monkeypatch.setattr(parallel, "infer_publication_date", no_reading)
    again = ingest_raw(raw, SMALL_LIMITS, publication_hints=hints, cache_dir=cache)
    assert again.articles.equals(first.articles) and again.quarantine.equals(first.quarantine)
    assert again.cache.read == 0
    write(raw / "bundles/d.jsonl", json.dumps({"text": article(60)}) + "\n")
    with pytest.raises(AssertionError, match="read again"):  # the patch is live: a new bundle is read
        ingest_raw(raw, SMALL_LIMITS, publication_hints=hints, cache_dir=cache)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other_columns", "empty", "null_values"])
def test_a_damaged_cache_file_is_ignored_and_rewritten(raw, tmp_path, damage):
    cache = tmp_path / "cache"
    check(raw, cache)
    files = cache_files(cache)
    for f in files:
        if damage == "garbage":
            f.write_bytes(b"PAR1 this is not parquet")
        elif damage == "truncated":
            f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
        elif damage == "other_columns":
            pl.DataFrame({"key": ["x"], "rec": ["c"]}).write_parquet(f)
        elif damage == "null_values":  # the right columns, but rows the code cannot use
            df = pl.read_parquet(f)
            df.with_columns(
                *(pl.lit(None, df.schema[c]).alias(c) for c in ("order_line", "code", "key"))
            ).write_parquet(f)
        else:
            f.write_bytes(b"")
    result = check(raw, cache)
    assert result.cache.reused == 0 and result.cache.written
    assert cache_files(cache) == files
    for f in files:
        pl.read_parquet(f)  # readable again
    assert check(raw, cache).cache.read == 0


def test_a_bundle_file_holding_another_entry_is_not_used(raw, tmp_path):
    cache = tmp_path / "cache"
    check(raw, cache)
    entry_files = [f for f in cache_files(cache) if f.name.startswith("entry-")]
    a, b = entry_files[0], entry_files[1]
    a_bytes = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(a_bytes)
    assert check(raw, cache).cache.reused < 13


def test_fingerprint_covers_limits_and_hints():
    base = fingerprint(SMALL_LIMITS, hints)
    assert base == fingerprint(SMALL_LIMITS, hints)
    assert base != fingerprint(IngestLimits(), hints)
    assert base != fingerprint(SMALL_LIMITS, None)
    assert base != fingerprint(SMALL_LIMITS, lambda text: [])


def test_other_fingerprints_are_removed_on_write(raw, tmp_path):
    cache = tmp_path / "cache"
    check(raw, cache)
    check(raw, cache, IngestLimits())
    assert len(list((cache / SUBDIR).iterdir())) == 2  # the lock and one fingerprint folder


def test_an_unusable_cache_folder_does_not_fail_the_build(raw, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    result = check(raw, blocker)
    assert result.cache is None


def bundle_lines(raw: Path, name: str, records: list[dict]) -> None:
    write(raw / name, "\n".join(json.dumps(r) for r in records) + "\n")


def test_warm_duplicates_across_a_cached_bundle_and_new_files(tmp_path):
    """Duplicate detection runs across cached and fresh candidates in input order, every build."""
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    bundle_lines(raw, "m/bundle.jsonl", [{"text": article(i)} for i in range(12)] + [{"text": article(3)}])
    cold = check(raw, cache)
    assert cold.quarantine.filter(pl.col("reason_code") == "duplicate_text")["source_file"].to_list() == [
        "m/bundle.jsonl#L13"
    ]
    # A new file sorting before the bundle, with a bundle line's text: the bundle line becomes the duplicate.
    write(raw / "a_new.txt", article(5))
    warm = check(raw, cache)
    assert warm.cache.reused == 1 and warm.cache.read == 1
    dup = warm.quarantine.filter(pl.col("reason_code") == "duplicate_text")
    assert dup.filter(pl.col("source_file") == "m/bundle.jsonl#L6")["duplicate_of"].to_list() == ["a_new.txt"]
    # A new file sorting after the bundle with a cached text: the new file is the duplicate.
    write(raw / "z_new.txt", article(7))
    warm = check(raw, cache)
    dup = warm.quarantine.filter(pl.col("reason_code") == "duplicate_text")
    assert dup.filter(pl.col("source_file") == "z_new.txt")["duplicate_of"].to_list() == ["m/bundle.jsonl#L8"]
    assert dup.filter(pl.col("source_file") == "z_new.txt")["record_id"].to_list() == [
        warm.articles.filter(pl.col("source_file") == "m/bundle.jsonl#L8")["article_id"].item()
    ]
    # Two new files with the same text (neither cached before): the first in order is kept.
    write(raw / "b_one.txt", article(99))
    write(raw / "y_two.txt", article(99))
    warm = check(raw, cache)
    assert warm.quarantine.filter(pl.col("source_file") == "y_two.txt")["duplicate_of"].to_list() == ["b_one.txt"]
    # The file that made a cached bundle line a duplicate is gone: the line is kept again.
    (raw / "a_new.txt").unlink()
    warm = check(raw, cache)
    assert "m/bundle.jsonl#L6" in warm.articles["source_file"].to_list()
    assert check(raw, cache).cache.read == 0


def test_warm_order_of_bundle_lines_is_numeric(tmp_path):
    """ "#L2" sorts before "#L10" (articles and quarantine), and the first in that order is kept."""
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    records = [{"text": article(i)} for i in range(11)]
    records[1] = {"text": article(10)}  # line 2 has the text of line 11: line 11 is the duplicate
    records[4] = {"slug": "no text"}  # line 5 is quarantined while reading
    bundle_lines(raw, "b.jsonl", records)
    check(raw, cache)
    write(raw / "new.txt", article(50))
    warm = check(raw, cache)
    assert warm.cache.reused == 1
    files = warm.articles["source_file"].to_list()
    assert files[:3] == ["b.jsonl#L1", "b.jsonl#L2", "b.jsonl#L3"] and files.index("b.jsonl#L10") == 8
    assert files[-1] == "new.txt"
    q = warm.quarantine.select("source_file", "reason_code").rows()
    assert q == [("b.jsonl#L5", "missing_text"), ("b.jsonl#L11", "duplicate_text")]
    assert warm.quarantine["duplicate_of"].to_list()[1] == "b.jsonl#L2"


def test_warm_language_rejections_of_cached_texts(tmp_path):
    """Stated and guessed non-English texts, cached, are rejected the same way (messages, ids),
    and a text rejected as non-English in one place is not a duplicate elsewhere."""
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    bundle_lines(
        raw,
        "b.jsonl",
        [
            {"text": article(1), "language": "fr"},  # stated: rejected before any analysis
            {"text": FRENCH},  # guessed not English
            {"text": article(1)},  # same text as the stated-French line, no language: kept
            {"text": FRENCH, "language": "en"},  # stated English: kept whatever it reads like
            {"text": article(2), "language": "de"},
        ],
    )
    write(raw / "sources.csv", "file,language\nfr.txt,fr\n")
    write(raw / "fr.txt", article(3))
    write(raw / "guess.txt", FRENCH)  # same text as a rejected line: rejected again, not a duplicate
    cold = check(raw, cache)
    codes = dict(cold.quarantine.select("source_file", "reason_code").rows())
    assert codes == {
        "b.jsonl#L1": "non_english",
        "b.jsonl#L2": "non_english",
        "b.jsonl#L5": "non_english",
        "fr.txt": "non_english",
        "guess.txt": "non_english",
    }
    reasons = dict(cold.quarantine.select("source_file", "reason").rows())
    assert reasons["b.jsonl#L1"].startswith("language stated as 'fr';")
    assert reasons["b.jsonl#L5"].startswith("language stated as 'de';")
    assert set(cold.articles["source_file"]) == {"b.jsonl#L3", "b.jsonl#L4"}
    write(raw / "new.txt", FRENCH)
    warm = check(raw, cache)
    assert warm.cache.reused == 3 and warm.quarantine.filter(pl.col("source_file") == "new.txt")[
        "reason_code"
    ].to_list() == ["non_english"]
    assert check(raw, cache).cache.read == 0


def test_warm_new_file_with_a_cached_text_reuses_its_analysis(tmp_path, monkeypatch):
    """A new file whose text is already analysed (from a cached bundle) is not analysed again, and
    a text first kept in this build gets analysed and cached."""
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    bundle_lines(raw, "b.jsonl", [{"text": article(i)} for i in range(3)])
    check(raw, cache)

    def no_analysis(*args, **kwargs):
        raise AssertionError("a cached analysis was computed again")

    write(raw / "a.txt", article(1))  # sorts first: it is the article, the bundle line the duplicate
    plain = ingest_raw(raw, SMALL_LIMITS, publication_hints=hints)
    with monkeypatch.context() as m:
        for name in ("guess_english", "analyze"):
            m.setattr(core, name, no_analysis)
        m.setattr(parallel, "infer_publication_date", no_analysis)
        warm = ingest_raw(raw, SMALL_LIMITS, publication_hints=hints, cache_dir=cache)
    assert warm.articles.equals(plain.articles) and warm.quarantine.equals(plain.quarantine)
    assert warm.articles.filter(pl.col("source_file") == "a.txt").height == 1
    check(raw, cache)


def test_an_empty_raw_folder_and_only_rejections(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    raw.mkdir()
    assert check(raw, cache).articles.height == 0
    write(raw / "empty.txt", "  \n")
    write(raw / "boiler.txt", "Read more: something else\n")
    bundle_lines(raw, "b.jsonl", [{"text": "   "}, {"text": FRENCH}])
    for _ in range(2):
        result = check(raw, cache)
        assert result.articles.height == 0
        assert set(result.quarantine["reason_code"]) == {"empty_file", "only_boilerplate", "empty_text", "non_english"}


def test_texts_gone_do_not_rewrite_the_analyses_until_many_are_gone(raw, tmp_path, monkeypatch):
    """The analyses of texts that are gone stay in analyses.parquet (harmless: keyed by sha256) until
    more than DELTA_MAX of them are; replacing or deleting an article writes only the small files."""
    from pipeline.ingest import cache as cache_module

    cache = tmp_path / "cache"
    monkeypatch.setattr(cache_module, "DELTA_MAX", 2)
    check(raw, cache)
    base = next(f for f in cache_files(cache) if f.name == "analyses.parquet")
    stamp = base.stat().st_mtime_ns
    for n in range(3):  # a new text replaced twice: only ever in the delta file
        write(raw / "replaced.txt", article(700 + n))
        assert check(raw, cache).cache.read == 1
        assert base.stat().st_mtime_ns == stamp
    gone = []
    for name in ("a1_first.txt", "a4_cp1252.txt", "page.html"):  # texts in analyses.parquet
        gone.append(check(raw, cache).articles.filter(pl.col("source_file") == name)["sha256"].item())
        (raw / name).unlink()
        check(raw, cache)
        assert (base.stat().st_mtime_ns == stamp) == (len(gone) <= 2)  # the third one is one too many
        assert check(raw, cache).cache.read == 0  # and read back
    digests = set(pl.read_parquet(base).filter(pl.col("rec") == "a")["key"])
    assert not digests & set(gone)
