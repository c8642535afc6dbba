"""Deduplication in partitions (pipeline/dedup/partitions.py) gives exactly what the single-step
core.build_events gives: every table (events, mentions, registry, lineage, and what the dedup
cache keeps), on real extractions (the seeds and tehran_dev), on a synthetic corpus with many
blocks and one block cut at overlap-component boundaries, on a rebuild with the previous id
registry, and through the files and the cache the scale-out steps use. A plan that cuts inside a
component shows that the comparison catches a wrong split."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.dedup.cache import DedupCache, deduplicate_with_cache
from pipeline.dedup.core import build_events
from pipeline.dedup.partitions import (
    PART_SHIFT,
    PartFrames,
    Plan,
    build_events_partitioned,
    merge_parts,
    plan_partitions,
    settle_partition,
    sorted_union,
    split_by_plan,
)
from pipeline.dedup.stage import deduplicate_partition, merge_dedup, plan_dedup
from tests.conftest import PROJECT
from tests.synthetic import synthetic_corpus, with_story_texts

TABLES = ("events", "mentions", "registry", "lineage", "components", "sources")


def assert_same(got, ref) -> None:
    for table in TABLES:
        a, b = getattr(got, table), getattr(ref, table)
        assert a.equals(b), f"{table} differs: {a.height} rows against {b.height}"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """The extractor's mentions of the seeds (raw/) and of tehran_dev (49 Tehran Times articles)."""
    from pipeline.extract.stage import extract_mentions
    from pipeline.ingest.core import ingest_raw

    out = {}
    for name, raw in (("seeds", PROJECT / "raw"), ("tehran_dev", PROJECT / "examples/gold/tehran_dev/raw")):
        articles = ingest_raw(raw).articles
        mentions, _ = extract_mentions(articles, tmp_path_factory.mktemp(f"extract-{name}"))
        out[name] = (mentions, articles)
    return out


@pytest.mark.parametrize("corpus", ["seeds", "tehran_dev"])
@pytest.mark.parametrize("partitions", [1, 2, 3, 5, 40])
def test_real_extractions_deduplicate_alike_in_partitions(extracted, corpus, partitions):
    mentions, articles = extracted[corpus]
    reference = build_events(mentions, articles, None)
    assert reference.events.filter(pl.col("n_mentions") > 1).height > 0  # there is something to merge
    # Small pieces: the merged tables are put together from several key ranges.
    assert_same(build_events_partitioned(mentions, articles, None, partitions, piece_rows=7), reference)


def big_block_corpus(n: int = 3000, seed: int = 5) -> tuple[pl.DataFrame, pl.DataFrame]:
    """synthetic_corpus with story texts, and 5 of every 16 mentions retold as meetings of one
    dyad, each dated to a day or a month of 2018-2019 (before every article's publication, so no
    date is cut back to an open interval): one block far larger than a partition's share, made of
    many overlap components."""
    mentions, articles = synthetic_corpus(n, seed=seed)
    articles = with_story_texts(articles, seed)
    index = pl.col("mention_id").str.slice(1).str.to_integer(base=16)
    chosen = index % 16 < 5
    day = pl.date(2018, 1, 1) + pl.duration(days=(index * 7919) % 700)
    by_month = index % 3 == 0
    month_end = day.dt.month_end()
    values = {
        "event_type": pl.lit("meet"),
        "actor_name": pl.lit("CAA"),
        "actor_country": pl.lit("CAA"),
        "actor_text": pl.lit("CAA"),
        "target_name": pl.lit("CAB"),
        "target_country": pl.lit("CAB"),
        "target_text": pl.lit("CAB"),
        "date_start": pl.when(by_month).then(day.dt.month_start()).otherwise(day),
        "date_end": pl.when(by_month).then(month_end).otherwise(day),
        "date_precision": pl.when(by_month).then(pl.lit("month")).otherwise(pl.lit("day")),
        "date_basis": pl.lit("explicit"),
    }
    mentions = mentions.with_columns(
        pl.when(chosen).then(value).otherwise(pl.col(name)).alias(name) for name, value in values.items()
    )
    return mentions, articles


@pytest.fixture(scope="module")
def big_block():
    mentions, articles = big_block_corpus()
    return mentions, articles, build_events(mentions, articles, None)


@pytest.mark.parametrize("partitions", [2, 4, 9])
def test_a_block_too_big_for_a_partition_is_cut_between_components_and_deduplicates_alike(big_block, partitions):
    mentions, articles, reference = big_block
    plan = plan_partitions(mentions, articles, partitions)
    assert plan.split_blocks >= 1 and plan.largest_unit < max(plan.sizes)
    # The big block's mentions went to several partitions.
    big = (mentions["event_type"] == "meet") & (mentions["actor_country"] == "CAA")
    assert plan.partition.filter(big).n_unique() > 1
    # Balanced: every partition within 10% of its share (cutting only above a whole share left
    # 1,910 / 1,090 for two).
    assert max(plan.sizes) < 1.1 * mentions.height / partitions
    assert_same(build_events_partitioned(mentions, articles, None, partitions, piece_rows=300), reference)


def test_a_plan_that_cuts_inside_a_component_gives_other_events(big_block):
    """The control: the comparison above can fail. One mention of a multi-mention event of the big
    block is moved to another partition than its event's other mentions, and the events differ."""
    mentions, articles, reference = big_block
    plan = plan_partitions(mentions, articles, 4)
    event = reference.events.filter((pl.col("event_type") == "meet") & (pl.col("n_mentions") > 1)).row(0, named=True)
    moved = mentions.with_row_index("__row").filter(pl.col("mention_id") == event["mention_ids"][0])["__row"][0]
    partition = plan.partition.clone()
    partition[moved] = (partition[moved] + 1) % 4
    wrong = Plan(partition, 4, plan.sizes, plan.blocks, plan.split_blocks, plan.largest_unit)
    got = build_events_partitioned(mentions, articles, None, 4, plan=wrong)
    assert got.events.height == reference.events.height + 1
    assert not got.mentions.equals(reference.mentions)


def test_the_plan_does_not_depend_on_the_batch_size(big_block):
    mentions, articles, _ = big_block
    whole = plan_partitions(mentions, articles, 5)
    batched = plan_partitions(mentions.lazy(), articles.lazy(), 5, batch_rows=700)
    assert batched.partition.equals(whole.partition) and batched.blocks == whole.blocks


def _rebuild(mentions: pl.DataFrame) -> pl.DataFrame:
    """The corpus of a later build: a tenth of the mentions gone, and a twentieth redated by one
    to three days (some events split, others merge), besides the ones that stay."""
    index = pl.col("mention_id").str.slice(1).str.to_integer(base=16)
    shift = pl.duration(days=(index % 3) + 1)
    moved = (index % 20 == 7) & (pl.col("date_precision") == "day")
    return mentions.filter(index % 10 != 3).with_columns(
        pl.when(moved).then(pl.col("date_start") + shift).otherwise(pl.col("date_start")).alias("date_start"),
        pl.when(moved).then(pl.col("date_end") + shift).otherwise(pl.col("date_end")).alias("date_end"),
    )


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_a_rebuild_with_the_previous_registry_keeps_the_same_ids(big_block, partitions):
    mentions, articles, first = big_block
    later = _rebuild(mentions)
    reference = build_events(later, articles, first.registry)
    assert set(reference.lineage["change_type"]) == {"merged", "split"}
    assert reference.registry.filter(pl.col("status") == "retired").height > 0
    got = build_events_partitioned(later, articles, first.registry, partitions, piece_rows=500)
    assert_same(got, reference)


def test_reusing_a_previous_build_changes_nothing(big_block):
    """A previous build's components and sources handed to every partition (the file test below
    hands each only its own, as the scale-out job does, and masks too)."""
    mentions, articles, first = big_block
    later = _rebuild(mentions)
    reference = build_events(later, articles, first.registry)
    got = build_events_partitioned(
        later, articles, first.registry, 3, previous_components=first.components, previous_sources=first.sources
    )
    assert_same(got, reference)


def test_no_mentions_and_unknown_articles(extracted):
    mentions, articles = extracted["tehran_dev"]
    first = build_events(mentions, articles, None)
    assert_same(
        build_events_partitioned(mentions.clear(), articles, first.registry, 3),
        build_events(mentions.clear(), articles, first.registry),
    )
    # An article the articles table lacks: its mentions are clustered without a text or a date.
    fewer = articles.filter(pl.col("article_id") != mentions["article_id"][0])
    assert_same(build_events_partitioned(mentions, fewer, None, 3), build_events(mentions, fewer, None))


def test_bad_arguments_are_named(extracted):
    mentions, articles = extracted["seeds"]
    with pytest.raises(ValueError, match="at least 1"):
        plan_partitions(mentions, articles, 0)
    plan = plan_partitions(mentions, articles, 2)
    with pytest.raises(ValueError, match="not the plan's input"):
        split_by_plan(mentions.head(5), plan)
    # The merge's lists out of step (one partition's mentions beside another's events) stop it.
    parts = [
        PartFrames.of(settle_partition(frame.collect(), articles, p))
        for p, frame in enumerate(split_by_plan(mentions, plan))
    ]
    assert all(p.mentions.collect().height for p in parts)
    swapped = [
        PartFrames(parts[0].mentions, parts[1].events, parts[0].components, parts[0].sources, parts[0].masks),
        PartFrames(parts[1].mentions, parts[0].events, parts[1].components, parts[1].sources, parts[1].masks),
    ]
    with pytest.raises(ValueError, match="do not belong together"):
        merge_parts(swapped, None)


def test_sorted_union_puts_key_ranges_in_order():
    frames = [
        pl.LazyFrame({"k": ["b", "e", "h"], "v": [1, 2, 3]}),
        pl.LazyFrame({"k": ["a", "f", "e"], "v": [4, 5, 2]}),
    ]
    got = sorted_union(frames, "k", ["c", "f"], unique=True).collect()
    assert got["k"].to_list() == ["a", "b", "e", "f", "h"]
    assert sorted_union(frames[:1], "k", []).collect()["v"].to_list() == [1, 2, 3]


def _steps(mentions, articles, tmp: Path, run: str, partitions: int, registry=None):
    """The scale-out job's dedup steps through files, as its ops call them: the plan streams the
    mentions from Parquet, each partition reads its file and the articles' file lazily, and the
    merge reads the partitions' files and writes its own to a scratch folder."""
    work = tmp / run
    work.mkdir()
    mentions.write_parquet(work / "valid_mentions.parquet")
    articles.write_parquet(work / "articles.parquet")
    valid, arts = pl.scan_parquet(work / "valid_mentions.parquet"), pl.scan_parquet(work / "articles.parquet")
    plan = plan_dedup(valid, arts, partitions=partitions, max_per_partition=10**9)
    parts = []
    for p, frame in enumerate(split_by_plan(valid, plan)):
        frame.sink_parquet(work / f"part{p}.parquet")
        part, _ = deduplicate_partition(pl.read_parquet(work / f"part{p}.parquet"), arts, p, cache_root=tmp / "cache")
        files = {}
        for name, table in (
            ("mentions", part.settled.mentions),
            ("events", part.settled.events),
            ("components", part.settled.components),
            ("sources", part.settled.sources),
            ("masks", part.masks),
        ):
            table.write_parquet(work / f"{name}{p}.parquet")
            files[name] = pl.scan_parquet(work / f"{name}{p}.parquet")
        parts.append(PartFrames(**files))
    if registry is None:
        return merge_dedup(parts, outputs=tmp / "outputs", cache_root=tmp / "cache", scratch=work / "merge")
    return merge_parts(parts, registry, scratch=work / "merge", piece_rows=200)


def _written(pieces, path: Path) -> pl.DataFrame:
    """The table as the scale-out job's IO manager writes it (a piece at a time) and reads it."""
    pieces.write_parquet(path)
    return pl.read_parquet(path)


def test_the_steps_through_files_and_the_cache_equal_the_single_step(big_block, tmp_path, monkeypatch):
    mentions, articles, first = big_block
    merged = _steps(mentions, articles, tmp_path, "first", 4)
    assert _written(merged.events, tmp_path / "merged_events.parquet").equals(first.events)
    assert _written(merged.mentions, tmp_path / "merged_mentions.parquet").equals(first.mentions)
    assert _written(merged.registry, tmp_path / "merged_registry.parquet").equals(first.registry)
    # The cache holds what the single step's holds.
    cache, single_cache = DedupCache(tmp_path / "cache"), DedupCache(tmp_path / "single-cache")
    deduplicate_with_cache(mentions, articles, None, tmp_path / "single-cache")
    assert pl.read_parquet(cache.components_file).equals(first.components)
    for name in ("masks_file", "components_file", "sources_file"):
        assert pl.read_parquet(getattr(cache, name)).equals(pl.read_parquet(getattr(single_cache, name))), name
    assert pl.read_parquet(cache.masks_file).height > 100

    # A rebuild reuses it (components, masks, sources) and still gives the single step's result.
    later = _rebuild(mentions)
    calls = []
    real = DedupCache.load_for_partition

    def counting(self, mention_ids, article_ids):
        out = real(self, mention_ids, article_ids)
        calls.append(tuple(0 if f is None else f.height for f in out))
        return out

    monkeypatch.setattr(DedupCache, "load_for_partition", counting)
    again = _steps(later, articles, tmp_path, "again", 3)
    assert all(masks and components and sources for masks, components, sources in calls)
    reference = build_events(later, articles, None)
    assert _written(again.events, tmp_path / "again_events.parquet").equals(reference.events)
    assert _written(again.mentions, tmp_path / "again_mentions.parquet").equals(reference.mentions)
    assert pl.read_parquet(cache.components_file).equals(reference.components)
    # The single step reads the partitioned build's cache as its own.
    single, _ = deduplicate_with_cache(later, articles, None, tmp_path / "cache")
    assert_same(single, reference)

    # The merge with a registry, through files: ids, retired mentions and lineage as the single step's.
    with_registry = _steps(later, articles, tmp_path, "registry", 5, registry=first.registry)
    reference = build_events(later, articles, first.registry)
    assert _written(with_registry.events, tmp_path / "with_registry_events.parquet").equals(reference.events)
    assert _written(with_registry.mentions, tmp_path / "with_registry_mentions.parquet").equals(reference.mentions)
    assert _written(with_registry.registry, tmp_path / "with_registry_registry.parquet").equals(reference.registry)
    assert with_registry.lineage.equals(reference.lineage)


def test_cluster_numbers_carry_their_partition(big_block):
    mentions, articles, _ = big_block
    plan = plan_partitions(mentions, articles, 3)
    frame = split_by_plan(mentions, plan)[2].collect()
    part = settle_partition(frame, articles, 2)
    for table in (part.settled.mentions, part.settled.events):
        assert (table["__cluster"] // 2**PART_SHIFT).unique().to_list() == [2]


def test_mention_ids_of_another_form_are_joined_as_strings(extracted):
    """The merge joins mention ids as the numbers they spell only when all have the schema's form;
    other ids (uppercase hex here, which as numbers would equal their lowercase twins) take the
    string path, with the same result."""
    mentions, articles = extracted["tehran_dev"]
    first = build_events(mentions, articles, None)
    upper = pl.col("mention_id").str.to_uppercase().str.replace("^M", "m")
    odd, registry = mentions.with_columns(upper), first.registry.with_columns(upper)
    # A mention whose id is another's in lowercase: the same number, another id.
    twin = odd.filter(pl.col("mention_id").str.contains("[A-F]")).head(1)
    odd = pl.concat([odd, twin.with_columns(pl.col("mention_id").str.to_lowercase())])
    reference = build_events(odd, articles, registry)
    assert_same(build_events_partitioned(odd, articles, registry, 3, piece_rows=20), reference)
