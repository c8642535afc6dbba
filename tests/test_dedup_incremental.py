"""Incremental deduplication (pipeline.dedup.cache) gives exactly what a fresh build_events() gives.

What a build reuses from the previous one: article word masks (kept as bytes until used), the
clustering of unchanged components and the syndicated sources of unchanged events. These tests
run a sequence of builds (articles and mentions added, changed, removed) through the cache and
compare every table with an uncached run.
"""

from __future__ import annotations

import random

import polars as pl
import pytest

from pipeline.dedup import settle as settle_module
from pipeline.dedup.cache import MASKS_SCHEMA, DedupCache, deduplicate_with_cache
from pipeline.dedup.core import build_events
from pipeline.dedup.keys import WORD_MASK_BITS, ArticleMasks, word_mask
from pipeline.dedup.settle import SOURCES_SCHEMA, source_keys, source_keys_reusing
from tests.synthetic import synthetic_corpus

TABLES = ("events", "mentions", "registry", "lineage", "components", "sources")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))


def _corpus(n: int, seed: int = 11) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The synthetic corpus with texts: every article is a near copy (one word changed) of one of
    40 stories, so events often hold syndicated copies from different outlets (or none)."""
    mentions, articles = synthetic_corpus(n, seed=seed)
    rng = random.Random(seed)
    vocab = [_word(rng) for _ in range(600)]
    stories = [[rng.choice(vocab) for _ in range(60)] for _ in range(40)]
    texts = []
    for i in range(articles.height):
        words = list(stories[i % len(stories)])
        words[rng.randrange(len(words))] = rng.choice(vocab)
        texts.append(" ".join(words))
    return mentions, articles.with_columns(pl.Series("text", texts))


def _assert_equal_to_fresh(result, mentions, articles, registry):
    fresh = build_events(mentions, articles, registry)
    for table in TABLES:
        assert getattr(result, table).equals(getattr(fresh, table)), table


@pytest.fixture
def screened(monkeypatch):
    """Counts the events whose syndicated sources are screened (not taken from the cache)."""
    seen: list[int] = []
    real = settle_module._syndication_merges

    def counting(multi, *args):
        seen.append(multi["__cluster"].n_unique())
        return real(multi, *args)

    monkeypatch.setattr(settle_module, "_syndication_merges", counting)
    return seen


def test_incremental_builds_equal_fresh_ones_after_adding_changing_and_removing(tmp_path, screened):
    mentions, articles = _corpus(3000)
    hashed = pl.col("mention_id").hash(seed=3) % 40
    art_hash = pl.col("article_id").hash(seed=5) % 30

    # Build 1: 5% of the mentions and some articles are not there yet.
    m1 = mentions.filter(hashed != 0)
    a1 = articles.filter(art_hash != 0)
    m1 = m1.join(a1.select("article_id"), on="article_id", how="semi")
    first, _ = deduplicate_with_cache(m1, a1, None, tmp_path)
    _assert_equal_to_fresh(first, m1, a1, None)
    merged = first.sources.filter(pl.col("source").is_not_null())
    assert merged.height > 5  # syndicated copies were found: the cache has merges to reuse
    total_events = first.sources["key"].n_unique()
    screened.clear()

    # Build 2: the rest added.
    second, reuse = deduplicate_with_cache(mentions, articles, first.registry, tmp_path)
    assert 0 < sum(screened) < total_events / 3, (sum(screened), total_events)  # most events reused
    _assert_equal_to_fresh(second, mentions, articles, first.registry)
    assert "sources of" in reuse
    screened.clear()

    # Build 3: changed mentions (modality, dates) and changed outlets of articles in merged events.
    in_merged = (
        second.mentions.join(
            second.events.filter(pl.col("n_articles") > pl.col("n_sources")), on="event_id", how="semi"
        )["article_id"]
        .unique()
        .sort()
        .head(15)
    )
    assert in_merged.len() > 0
    a3 = articles.with_columns(
        pl.when(pl.col("article_id").is_in(in_merged.implode()))
        .then(pl.lit("outlet7"))
        .otherwise(pl.col("outlet"))
        .alias("outlet")
    )
    m3 = mentions.with_columns(
        pl.when(hashed == 1).then(pl.lit("planned")).otherwise(pl.col("modality")).alias("modality"),
        pl.when(hashed == 2).then(None).otherwise(pl.col("date_start")).alias("date_start"),
    )
    third, _ = deduplicate_with_cache(m3, a3, second.registry, tmp_path)
    assert 0 < sum(screened) < total_events
    _assert_equal_to_fresh(third, m3, a3, second.registry)
    assert not third.events.equals(second.events)
    screened.clear()

    # Build 4: articles removed with their mentions, and some mentions removed on their own.
    a4 = a3.filter(art_hash != 1)
    m4 = m3.filter(hashed != 3).join(a4.select("article_id"), on="article_id", how="semi")
    fourth, _ = deduplicate_with_cache(m4, a4, third.registry, tmp_path)
    _assert_equal_to_fresh(fourth, m4, a4, third.registry)

    # Build 5: nothing changed: nothing is screened, no cache file is written again.
    cache = DedupCache(tmp_path)
    files = (cache.masks_file, cache.components_file, cache.sources_file)
    stamps = [f.stat().st_mtime_ns for f in files]
    screened.clear()
    fifth, _ = deduplicate_with_cache(m4, a4, fourth.registry, tmp_path)
    assert sum(screened) == 0
    _assert_equal_to_fresh(fifth, m4, a4, fourth.registry)
    assert [f.stat().st_mtime_ns for f in files] == stamps
    # The cache holds what this build used, not what earlier builds did.
    assert pl.read_parquet(cache.sources_file).equals(fifth.sources)


@pytest.mark.parametrize("damage", ["garbage", "torn", "wrong schema"])
def test_a_damaged_sources_file_is_a_cache_miss(tmp_path, damage, screened):
    mentions, articles = _corpus(1500)
    first, _ = deduplicate_with_cache(mentions, articles, None, tmp_path)
    path = DedupCache(tmp_path).sources_file
    assert path.is_file()
    if damage == "garbage":
        path.write_bytes(b"not a parquet file")
    elif damage == "torn":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        pl.DataFrame({"key": ["x"], "source": [1]}).write_parquet(path)
    assert DedupCache(tmp_path).load_sources() is None
    screened.clear()
    again, _ = deduplicate_with_cache(mentions, articles, first.registry, tmp_path)
    assert sum(screened) == first.sources["key"].n_unique()  # everything screened again
    _assert_equal_to_fresh(again, mentions, articles, first.registry)
    assert DedupCache(tmp_path).load_sources().equals(again.sources)  # and the file repaired


def test_a_damaged_masks_file_is_a_cache_miss(tmp_path):
    mentions, articles = _corpus(600)
    first, _ = deduplicate_with_cache(mentions, articles, None, tmp_path)
    cache = DedupCache(tmp_path)
    frame = pl.read_parquet(cache.masks_file)
    # One mask of the wrong length, and then a torn file.
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(b"\x01\x02")).otherwise(pl.col("mask")).alias("mask")
    ).write_parquet(cache.masks_file)
    masks = DedupCache(tmp_path).load_masks(dict(zip(articles["article_id"], articles["text"])))
    assert masks.count() == frame.height - 1
    again, _ = deduplicate_with_cache(mentions, articles, first.registry, tmp_path)
    _assert_equal_to_fresh(again, mentions, articles, first.registry)
    cache.masks_file.write_bytes(cache.masks_file.read_bytes()[:100])
    again, _ = deduplicate_with_cache(mentions, articles, first.registry, tmp_path)
    _assert_equal_to_fresh(again, mentions, articles, first.registry)
    assert dict(pl.read_parquet(cache.masks_file).schema) == MASKS_SCHEMA  # rewritten whole


def test_seeded_mask_bytes_are_the_same_masks():
    texts = {"a": "kabul astana corridor treaty", "b": "", "c": "pipeline embassy ministry talks"}
    n_bytes = WORD_MASK_BITS // 8
    seeded = ArticleMasks(texts)
    seeded.seed_bytes({"a": word_mask(texts["a"]).to_bytes(n_bytes, "little")})
    plain = ArticleMasks(texts)
    assert [seeded.words(a) for a in texts] == [plain.words(a) for a in texts]
    assert seeded.known() == {a: word_mask(t) for a, t in texts.items()} and seeded.count() == 3
    assert seeded.known_bytes() == {a: word_mask(t).to_bytes(n_bytes, "little") for a, t in texts.items()}
    assert seeded.similarity_matrix(list(texts)) == plain.similarity_matrix(list(texts))
    assert list(seeded.pair_similarity(["a", "a"], ["b", "c"])) == list(plain.pair_similarity(["a", "a"], ["b", "c"]))
    with pytest.raises(ValueError):
        seeded.seed_bytes({"x": b"\x00"})


def _two_copies():
    story = " ".join(f"word{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(80))
    texts = {"a1": story, "a2": story + " extra"}
    m = pl.DataFrame(
        {"__cluster": [5, 5, 9], "article_id": ["a1", "a2", "a1"], "outlet": ["Outlet A", "Outlet B", "Outlet A"]},
        schema={"__cluster": pl.Int64, "article_id": pl.String, "outlet": pl.String},
    )
    return m, texts


def test_reused_sources_follow_the_articles_not_the_cluster_number():
    m, texts = _two_copies()
    keys, sources = source_keys_reusing(m, texts, None, None)
    assert keys.filter(pl.col("__cluster") == 5)["__source"].to_list() == ["o:Outlet A"] * 2  # copies: one source
    assert sources.filter(pl.col("source").is_not_null()).height == 1
    # The same event under another cluster number (a build that inserted mentions before it).
    renumbered = m.with_columns(pl.col("__cluster") + 100)
    reused, again = source_keys_reusing(renumbered, texts, None, sources)
    assert reused.equals(source_keys(renumbered, texts)) and again.equals(sources)


def test_a_previous_merge_is_not_reused_when_what_it_read_changed():
    m, texts = _two_copies()
    _, sources = source_keys_reusing(m, texts, None, None)
    # The copy lost its text: not a copy any more (a stale merge would count one source).
    no_text = {"a1": texts["a1"]}
    keys, _ = source_keys_reusing(m, no_text, None, sources)
    assert keys.equals(source_keys(m, no_text))
    assert keys.filter(pl.col("__cluster") == 5)["__source"].n_unique() == 2
    # An outlet changed: the event's sources are named anew.
    with_outlet = m.with_columns(
        pl.when(pl.col("article_id") == "a2").then(pl.lit("Outlet 0")).otherwise(pl.col("outlet")).alias("outlet")
    )
    keys, _ = source_keys_reusing(with_outlet, texts, None, sources)
    assert keys.equals(source_keys(with_outlet, texts))
    assert keys.filter(pl.col("__cluster") == 5)["__source"].to_list() == ["o:Outlet 0"] * 2
    # A previous table whose entries name other events is simply not used.
    foreign = pl.DataFrame(
        {"key": ["0" * 32], "source": ["o:Outlet B"], "merged_into": ["o:Outlet A"]}, schema=SOURCES_SCHEMA
    )
    keys, fresh_sources = source_keys_reusing(m, texts, None, foreign)
    assert keys.equals(source_keys(m, texts)) and fresh_sources.equals(sources)
