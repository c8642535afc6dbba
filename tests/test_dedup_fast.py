"""The vectorised paths of deduplication give exactly what the plain Python definitions give.

Bulk word masks, the per-component similarity matrix and the screened syndication pairs exist for
speed only (the 33k-article corpus); these tests pin them to the simple definitions they replace.
"""

import itertools
import random

import polars as pl
import pytest

from pipeline.dedup.keys import (
    ArticleMasks,
    bulk_word_masks,
    mask_jaccard,
    word_mask,
)
from pipeline.dedup.settle import SYNDICATION_JACCARD, shingle_mask, source_keys

WORDS = [
    "minister",
    "talks",
    "sanctions",
    "kabul",
    "astana",
    "treaty",
    "trade",
    "corridor",
    "ministry",
    "embassy",
    "pipeline",
    "délégation",
    "Zürich",
    "½ⅷ",
    "naïve",
    "2024",
    "foo_bar",
    "über",
    "straße",
    "İstanbul",
    "ΑΘΗΝΑ",
    "москва",
]


def _texts(n: int, seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    return {
        f"a{i:03d}": " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 60))) + rng.choice(["", ".", " The end."])
        for i in range(n)
    }


def test_bulk_word_masks_equal_word_mask_bit_for_bit():
    texts = _texts(300, 1)
    texts["empty"] = ""
    texts["digits"] = "123 4567 a_b __ 12ab ab12 xy"
    texts["unicode"] = "Ça va? Ünïcödé, ñandú, 東京都 and ⅫⅫⅫ ½½½ e\u0301te\u0301"
    ids = sorted(texts)
    bulk = bulk_word_masks(ids, [texts[i] for i in ids])
    assert bulk == {i: word_mask(texts[i]) for i in ids}


def test_precompute_fills_the_same_masks_as_lazy_lookup():
    texts = _texts(50, 2)
    eager, lazy = ArticleMasks(texts), ArticleMasks(texts)
    eager.precompute([*list(texts), "missing"])
    assert all(eager.words(a) == lazy.words(a) for a in texts)
    assert eager.words("missing") == 0


def test_similarity_matrix_equals_mask_jaccard():
    texts = _texts(40, 3)
    texts["blank"] = ""
    ids = sorted(texts)
    masks = ArticleMasks(texts)
    matrix = masks.similarity_matrix(ids)
    for i, j in itertools.product(range(len(ids)), repeat=2):
        assert matrix[i][j] == mask_jaccard(masks.words(ids[i]), masks.words(ids[j])), (ids[i], ids[j])


def _reference_source_keys(m: pl.DataFrame, texts: dict[str, str]) -> dict[tuple[int, str], str]:
    """The definition: per event, articles are one source when they share a key or are
    syndicated copies (length ratio, word and shingle Jaccard >= threshold); a source is a
    connected component, named by its smallest key."""
    rows = m.select("__cluster", "article_id", "outlet").unique().iter_rows()
    by_cluster: dict[int, list[tuple[str, str]]] = {}
    for cluster, art, outlet in rows:
        # Articles of unknown outlet are one source together (nothing says they are independent).
        by_cluster.setdefault(cluster, []).append((art, f"o:{outlet}" if outlet is not None else "u:"))

    def syndicated(a: str, b: str) -> bool:
        la, lb = len(texts.get(a) or ""), len(texts.get(b) or "")
        if min(la, lb) < SYNDICATION_JACCARD * max(la, lb):
            return False
        if mask_jaccard(word_mask(texts.get(a)), word_mask(texts.get(b))) < SYNDICATION_JACCARD:
            return False
        ma, mb = shingle_mask(texts.get(a)), shingle_mask(texts.get(b))
        return bool(ma and mb) and mask_jaccard(ma, mb) >= SYNDICATION_JACCARD

    out = {}
    for cluster, members in by_cluster.items():
        comp = {i: i for i in range(len(members))}

        def find(i, comp=comp):
            while comp[i] != i:
                i = comp[i]
            return i

        for i, j in itertools.combinations(range(len(members)), 2):
            if members[i][1] == members[j][1] or syndicated(members[i][0], members[j][0]):
                ri, rj = find(i), find(j)
                comp[max(ri, rj)] = min(ri, rj)
        names: dict[int, str] = {}
        for i, (_, key) in enumerate(members):
            names[find(i)] = min(names.get(find(i), key), key)
        out.update({(cluster, art): names[find(i)] for i, (art, _) in enumerate(members)})
    return out


def test_screened_syndication_equals_the_pairwise_definition():
    rng = random.Random(4)
    base = _texts(12, 5)
    texts, rows = {}, []
    for _i, (aid, text) in enumerate(base.items()):
        texts[aid] = text
        for c in range(3):  # near copies (one word changed), far copies and unrelated texts
            copy = f"{aid}c{c}"
            words = text.split()
            if words and c < 2:
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            texts[copy] = " ".join(words) if c < 2 else base[rng.choice(list(base))]
    ids = sorted(texts)
    outlets = [None, None, "Outlet A", "Outlet B"]
    for cluster in range(25):
        for art in rng.sample(ids, rng.randint(1, 9)):
            rows.append({"__cluster": cluster, "article_id": art, "outlet": rng.choice(outlets)})
    m = pl.DataFrame(rows, schema={"__cluster": pl.Int64, "article_id": pl.String, "outlet": pl.String})
    m = m.unique(["__cluster", "article_id"], keep="first")  # one outlet per article, as in a real join
    got = {(c, a): s for c, a, _, s in source_keys(m, texts, ArticleMasks(texts)).iter_rows()}
    want = _reference_source_keys(m, texts)
    assert got == want
    # Some articles without an outlet were joined to an outlet's source: syndication did it.
    assert any(
        s.startswith("o:") and m.filter((pl.col("__cluster") == c) & (pl.col("article_id") == a))["outlet"][0] is None
        for (c, a), s in got.items()
    )


def _corpus_with_texts(n: int):
    from tests.synthetic import synthetic_corpus

    mentions, articles = synthetic_corpus(n, seed=7)
    rng = random.Random(8)
    texts = [" ".join(rng.choice(WORDS) for _ in range(30)) for _ in range(articles.height)]
    return mentions, articles.with_columns(pl.Series("text", texts))


def test_incremental_clustering_reuses_unchanged_components_and_equals_a_fresh_run(monkeypatch, tmp_path):
    from pipeline.dedup import cluster as cluster_module
    from pipeline.dedup.cache import DedupCache
    from pipeline.dedup.core import article_texts, build_events

    mentions, articles = _corpus_with_texts(4000)
    earlier = mentions.filter(pl.col("mention_id").hash(seed=1) % 50 != 0)  # 2% of the mentions are new later
    cache = DedupCache(tmp_path)
    masks = cache.load_masks(article_texts(articles))
    first = build_events(earlier, articles, None, masks=masks, previous_components=cache.load_components())
    cache.save(masks, first.components)
    assert first.components.height > 100  # the synthetic corpus has components the greedy loop clusters

    clustered_rows = []
    real_greedy = cluster_module._greedy
    monkeypatch.setattr(
        cluster_module, "_greedy", lambda multi, *a: clustered_rows.append(multi.height) or real_greedy(multi, *a)
    )
    masks = cache.load_masks(article_texts(articles))
    assert len(masks.known()) > 0
    again = build_events(mentions, articles, first.registry, masks=masks, previous_components=cache.load_components())
    assert sum(clustered_rows) < first.components.height / 2  # most components were taken as they were

    fresh = build_events(mentions, articles, first.registry)
    for table in ("events", "mentions", "registry", "lineage", "components"):
        assert getattr(again, table).equals(getattr(fresh, table)), table


def test_a_changed_mention_invalidates_its_component():
    from pipeline.dedup.cluster import cluster_mentions_reusing

    mentions, articles = _corpus_with_texts(1500)
    texts = dict(zip(articles["article_id"].to_list(), articles["text"].to_list()))
    _, components = cluster_mentions_reusing(mentions, texts, None, None, None)
    # Same mention ids, one field the clustering reads changed: every component holding a changed
    # mention is renamed, so the previous clustering cannot be applied to it.
    asserted = mentions.filter(pl.col("modality") == "asserted").select("mention_id")
    changed = components.join(asserted, on="mention_id", how="semi")["mention_id"].head(5).implode()
    edited = mentions.with_columns(
        pl.when(pl.col("mention_id").is_in(changed))
        .then(pl.lit("hypothetical"))
        .otherwise(pl.col("modality"))
        .alias("modality")
    )
    reclustered, components2 = cluster_mentions_reusing(edited, texts, None, None, components)
    before = dict(zip(components["mention_id"].to_list(), components["component"].to_list()))
    after = dict(zip(components2["mention_id"].to_list(), components2["component"].to_list()))
    assert all(after.get(m) != before[m] for m in changed.explode().to_list())
    fresh, _ = cluster_mentions_reusing(edited, texts, None, None, None)
    assert reclustered.equals(fresh)


def test_dedup_cache_ignores_a_corrupt_file(tmp_path):
    from pipeline.dedup.cache import DedupCache

    cache = DedupCache(tmp_path)
    cache.dir.mkdir(parents=True)
    cache.components_file.write_bytes(b"not parquet")
    cache.masks_file.write_bytes(b"PAR1 torn")
    assert cache.load_components() is None
    assert cache.load_masks({"a": "some words here"}).known() == {}


def test_dedup_cache_survives_an_incremental_extraction(tmp_path):
    """The caches share <outputs>/.cache: the extraction cache's clean-up must not remove the
    dedup cache's files (it removes other extractor versions' files)."""
    from pipeline.cache import StageCache
    from pipeline.dedup.cache import DedupCache
    from pipeline.dedup.keys import ArticleMasks
    from pipeline.extract.cache import extract_incremental

    cache = DedupCache(tmp_path)
    masks = ArticleMasks({"a1": "words of one article"})
    masks.precompute(["a1"])
    cache.save(masks, pl.DataFrame(schema={"component": pl.String, "mention_id": pl.String, "founder": pl.String}))
    articles = pl.DataFrame(
        {
            "article_id": ["x1"],
            "text": ["Iran and Russia signed a deal on Monday."],
            "title": [None],
            "published_at": [None],
            "published_after": [None],
        },
        schema={
            "article_id": pl.String,
            "text": pl.String,
            "title": pl.String,
            "published_at": pl.Date,
            "published_after": pl.Date,
        },
    )
    older = tmp_path / "extract" / ("0" * 20)  # an older extractor's cache: the sweep's to remove
    older.mkdir(parents=True)
    (older / "mentions.parquet").write_bytes(b"old")
    extract_incremental(articles, StageCache(tmp_path, "extract", "f" * 40), 1)
    assert not older.exists()
    assert cache.masks_file.is_file() and cache.components_file.is_file()
    assert cache.load_masks({"a1": "words of one article"}).known()


def test_article_texts_reads_like_a_dict():
    from pipeline.dedup.core import article_texts
    from pipeline.dedup.keys import text_lengths, texts_of

    articles = pl.DataFrame({"article_id": ["a1", "a2", "a3"], "text": ["one text", None, "ünïcode"]})
    texts = article_texts(articles)
    plain = {"a1": "one text", "a3": "ünïcode"}
    assert dict(texts) == plain and len(texts) == 2 and "a2" not in texts and texts.get("a2") is None
    assert texts_of(texts, ["a3", "zz", "a1"]) == texts_of(plain, ["a3", "zz", "a1"]) == ["ünïcode", None, "one text"]
    assert text_lengths(texts, ["a3", "zz"]) == text_lengths(plain, ["a3", "zz"]) == [7, 0]
    assert not article_texts(articles.drop("text"))


def test_dedup_cache_rewrites_only_what_changed(tmp_path):
    from pipeline.dedup.cache import DedupCache
    from pipeline.dedup.core import article_texts, build_events

    mentions, articles = _corpus_with_texts(600)

    def build(arts):
        cache = DedupCache(tmp_path)
        masks = cache.load_masks(article_texts(arts))
        result = build_events(mentions, arts, None, masks=masks, previous_components=cache.load_components())
        cache.save(masks, result.components)
        return cache

    cache = build(articles)
    stamps = (cache.masks_file.stat().st_mtime_ns, cache.components_file.stat().st_mtime_ns)
    build(articles)  # nothing changed: neither file is written again
    assert (cache.masks_file.stat().st_mtime_ns, cache.components_file.stat().st_mtime_ns) == stamps
    # One article's text is gone: its mask leaves the file.
    gone = articles["article_id"][0]
    build(
        articles.with_columns(pl.when(pl.col("article_id") == gone).then(None).otherwise(pl.col("text")).alias("text"))
    )
    assert gone not in pl.read_parquet(cache.masks_file)["article_id"].to_list()


@pytest.mark.parametrize("n", [1, 7, 600, 1200, 5000])
def test_synthetic_corpus_builds_for_any_size(n):
    # Sizes where the random outlets happened to form a numpy array polars could not cast failed.
    from tests.synthetic import synthetic_corpus

    mentions, articles = synthetic_corpus(n)
    assert mentions.height == n
    assert articles.schema["outlet"] == pl.String
    assert set(mentions["article_id"].unique()) <= set(articles["article_id"])
