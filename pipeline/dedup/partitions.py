"""Deduplication in partitions: the events of core.build_events, computed in pieces that each fit
one step, so that a build past one process's memory can fan deduplication out like extraction.

    plan = plan_partitions(mentions, articles, partitions=16)         # one step (streams the mentions)
    part = settle_partition(plan_part_p, articles, p)                 # one step per partition
    merged = merge_parts([part_0, ..., part_15], previous_registry)   # one step

``build_events_partitioned`` runs the three in one process; the scale-out job
(pipeline/scale/jobs.py) runs them as steps. Either way the result is identical to
``build_events`` (tests/test_dedup_partitions.py compares every table).

Why the split is exact. Clustering (cluster.py) never joins two mentions of different blocks
(``cluster.BLOCK_COLS`` after ``cluster.prepare``: event type, the actor and target keys, denied or
not), and inside a block never two of different *overlap components* (the sweep of
``cluster.overlap_components``: runs of overlapping date intervals; a mention's interval must
overlap its event's). Everything the greedy assignment reads about a component is that
component's mentions and their articles. So:

- A block is hashed (blake2b of its key, so the assignment is the same on every machine) into one
  of N partitions, whole.
- A block too large for one partition (more mentions than ``CUT_FRACTION`` of a partition's fair
  share, ceil(mentions / N)) is cut at its overlap-component boundaries, never inside a
  component, and its components go to the least loaded partitions, largest first. A block's
  components have disjoint date spans, so the sweep over any subset of them finds exactly those
  components again: a partition holding some of a block's components clusters them as the whole
  block would. A single component larger than that stays whole (the plan reports the largest
  unit left whole).
- Settling (settle.py) is per event, so each partition settles its own events. Syndication
  screening, sources and confidence are per event too; nothing in settle.py needs all events.
- What needs every mention runs once, in ``merge_parts``: ids.assign_ids (stable ids from the
  previous registry: majority, then the earliest mention, so an event keeps its id when most of its
  mentions stay; fresh ids checked against every id in use or retired; lineage of merges and
  splits), then each partition's rows get their ids and the parts are merged in key order.

Cluster numbers are made unique across partitions by putting the partition number above bit
``PART_SHIFT``; assign_ids uses them only as labels (its tie-break on equal counts is the smallest
mention id, which names one cluster), so the numbering does not change any id.

Memory. The plan step reads the mentions in batches of ``BATCH_ROWS`` and keeps three integers
per mention; a partition step holds its partition (and only its articles' texts and vectors); the
merge keeps the (mention_id, cluster) pairs of all mentions and the previous registry, then
finishes one partition at a time and hands the final tables on as lazy frames that are written in
key-range pieces (``SortedPieces``), so no step holds every mention's full row. Measured figures:
docs/scaling.md, "Deduplication in partitions".
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.dedup.cache import MASKS_SCHEMA
from pipeline.dedup.cluster import BLOCK_COLS, COMPONENTS_SCHEMA, overlap_components, prepare
from pipeline.dedup.core import (
    DedupResult,
    Settled,
    _article_meta,
    article_texts,
    cluster_and_settle,
    empty_result,
    with_event_ids,
    with_publication,
)
from pipeline.dedup.ids import REGISTRY_SCHEMA, carried_from_pairs, carried_ids, grant_ids
from pipeline.dedup.keys import ArticleMasks, text_ids
from pipeline.dedup.settle import SOURCES_SCHEMA
from schemas.codebook import Codebook, load_codebook
from schemas.models import Event, Mention, conform, empty_frame

# Blocks above this fraction of a partition's share are cut between components and spread. Cutting
# only above the whole share left a block of 30% of the mentions on one of two partitions (sizes
# 1,910 / 1,090 in tests/test_dedup_partitions.py); with a quarter they are 1,485 / 1,515, and
# within 5% of their share for 4 and 9 partitions. Cutting never changes the result, only balance.
CUT_FRACTION = 0.25
# The most mentions a partition should hold, which sets a partition step's peak memory: measured
# with bench/bench_dedup_partitions.py (docs/scaling.md), see there.
MAX_DEDUP_MENTIONS = 600_000
PART_SHIFT = 40  # a partition's cluster numbers are partition << PART_SHIFT + its own (< 2**40 mentions)
BATCH_ROWS = 500_000  # mentions the plan prepares at once (about 0.3 GB of prepared rows)
PIECE_ROWS = 250_000  # rows per key-range piece when the merged tables are written
# The article columns deduplication reads (core._article_meta and core.article_texts).
ARTICLE_COLUMNS = ("article_id", "outlet", "published_at", "collected_at", "text")


# ---------------------------------------------------------------------------------------------
# The plan: which partition each mention goes to


@dataclass(frozen=True)
class Plan:
    partition: pl.Series  # UInt32, the partition of each mention, in the order of the input rows
    partitions: int
    sizes: list[int]  # mentions per partition
    blocks: int
    split_blocks: int  # blocks cut at overlap-component boundaries (over CUT_FRACTION of a partition's share)
    largest_unit: int  # mentions of the largest block or component that had to stay whole

    def describe(self) -> str:
        return (
            f"{sum(self.sizes):,} mentions in {self.blocks:,} blocks -> {self.partitions} partitions of "
            f"{min(self.sizes, default=0):,}..{max(self.sizes, default=0):,} mentions; "
            f"{self.split_blocks} blocks cut at component boundaries, largest whole unit {self.largest_unit:,}"
        )


def block_hash(key: str) -> int:
    """A block's place in the hash space: blake2b of its key, the same on every machine and run
    (polars' hash may change between versions)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def _block_key() -> pl.Expr:
    return pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in BLOCK_COLS], separator="\x1f").alias(
        "__key"
    )


def plan_partitions(
    mentions: pl.LazyFrame | pl.DataFrame,
    articles: pl.LazyFrame | pl.DataFrame,
    partitions: int,
    codebook: Codebook | None = None,
    *,
    batch_rows: int = BATCH_ROWS,
) -> Plan:
    """Each mention's partition (module docstring): blocks hashed, oversized blocks cut between
    overlap components. Reads ``mentions`` in batches; ``articles`` only for their publication
    dates, which bound the intervals the components are made of (core.with_publication)."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, not {partitions}")
    cb = codebook or load_codebook()
    lf = mentions.lazy()
    meta = _article_meta(_select_articles(articles.lazy(), with_text=False).collect())
    n = lf.select(pl.len()).collect().item()
    block_of: dict[str, int] = {}  # block key -> block number, in order of first appearance
    new_blocks: list[pl.DataFrame] = []  # BLOCK_COLS of each block number, for cutting big blocks
    rows: list[pl.DataFrame] = []  # per mention: __block, __s, __e
    for lo in range(0, n, batch_rows):
        batch = lf.slice(lo, batch_rows).collect()
        prepared = prepare(with_publication(batch, meta), cb).select(*BLOCK_COLS, "__s", "__e", _block_key())
        del batch
        seen = prepared.select(*BLOCK_COLS, "__key").unique("__key", maintain_order=True)
        fresh = seen.filter(~pl.col("__key").is_in(pl.Series(list(block_of), dtype=pl.String).implode()))
        first = len(block_of)
        block_of.update((k, first + i) for i, k in enumerate(fresh["__key"].to_list()))
        numbers = pl.int_range(first, first + fresh.height, dtype=pl.UInt32).alias("__block")
        new_blocks.append(fresh.with_columns(numbers))
        rows.append(
            prepared.select(
                pl.col("__key").replace_strict(block_of, return_dtype=pl.UInt32).alias("__block"), "__s", "__e"
            )
        )
    if not rows:
        return Plan(pl.Series("partition", [], dtype=pl.UInt32), partitions, [0] * partitions, 0, 0, 0)
    per_row = pl.concat(rows)
    blocks = pl.concat(new_blocks)  # __block = row number
    block_part = np.array([block_hash(k) % partitions for k in blocks["__key"].to_list()], dtype=np.uint32)
    block_size = np.bincount(per_row["__block"].to_numpy(), minlength=blocks.height)
    part = block_part[per_row["__block"].to_numpy()]
    big = np.flatnonzero(block_size > CUT_FRACTION * math.ceil(n / partitions))
    largest = int(block_size.max(initial=0))
    if partitions > 1 and big.size:
        part, largest = _cut_big_blocks(per_row, blocks, big, part, block_size, partitions)
    return Plan(
        pl.Series("partition", part, dtype=pl.UInt32),
        partitions,
        np.bincount(part, minlength=partitions).tolist(),
        blocks.height,
        int(big.size) if partitions > 1 else 0,
        largest,
    )


def _cut_big_blocks(
    per_row: pl.DataFrame,
    blocks: pl.DataFrame,
    big: np.ndarray,
    part: np.ndarray,
    block_size: np.ndarray,
    partitions: int,
) -> tuple[np.ndarray, int]:
    """``part`` with the mentions of the ``big`` blocks re-assigned a component at a time: the
    components (cluster.overlap_components, on the blocks' own key columns) go, largest first, to
    the partition with the fewest mentions so far (ties: the lowest number). Returns (part, the
    largest unit left whole)."""
    in_big = np.isin(per_row["__block"].to_numpy(), big)
    rows = (
        per_row.with_row_index("__row")
        .filter(pl.Series(in_big))
        .join(blocks.select("__block", *BLOCK_COLS), on="__block", how="left")
    )
    comps = overlap_components(rows).select("__row", "__comp")  # __comp: 1, 2, ... in sweep order
    sizes = comps.group_by("__comp").len().sort(["len", "__comp"], descending=[True, False])
    comp_part = np.zeros(int(comps["__comp"].max()) + 1, dtype=np.uint32)
    loads = np.bincount(part[~in_big], minlength=partitions)
    heap = [(int(load), p) for p, load in enumerate(loads)]
    heapq.heapify(heap)
    for comp, size in zip(sizes["__comp"].to_list(), sizes["len"].to_list()):
        load, p = heapq.heappop(heap)
        comp_part[comp] = p
        heapq.heappush(heap, (load + size, p))
    part = part.copy()
    part[comps["__row"].to_numpy()] = comp_part[comps["__comp"].to_numpy()]
    whole = block_size.copy()
    whole[big] = 0
    return part, max(int(whole.max(initial=0)), int(sizes["len"].max()))


def split_by_plan(mentions: pl.LazyFrame | pl.DataFrame, plan: Plan) -> list[pl.LazyFrame]:
    """The mentions of each partition, as lazy frames over ``mentions`` (the same rows, in the
    same order, that the plan was made from)."""
    n = mentions.lazy().select(pl.len()).collect().item()
    if n != plan.partition.len():
        # A horizontal concat of unequal lengths pads with nulls: mentions would silently go missing.
        raise ValueError(f"the plan covers {plan.partition.len():,} mentions, the frame {n:,}: not the plan's input")
    tagged = pl.concat([mentions.lazy(), plan.partition.alias("__part").to_frame().lazy()], how="horizontal")
    return [tagged.filter(pl.col("__part") == p).drop("__part") for p in range(plan.partitions)]


# ---------------------------------------------------------------------------------------------
# One partition


@dataclass(frozen=True)
class Part:
    """One partition's clustering and settling (core.Settled, cluster numbers made unique across
    partitions) and the word masks of its articles (cache.MASKS_SCHEMA, for the next build)."""

    settled: Settled
    masks: pl.DataFrame


def _select_articles(articles: pl.LazyFrame, *, with_text: bool = True) -> pl.LazyFrame:
    names = articles.collect_schema().names()
    return articles.select([c for c in ARTICLE_COLUMNS if c in names and (with_text or c != "text")])


def articles_of(
    mentions: pl.DataFrame, articles: pl.LazyFrame | pl.DataFrame, *, with_text: bool = True
) -> pl.DataFrame:
    """The articles ``mentions`` cite, with only the columns deduplication reads: a partition
    loads its own articles' texts, not the corpus's (streamed from a scan)."""
    ids = mentions["article_id"].unique()
    wanted = _select_articles(articles.lazy(), with_text=with_text)
    return wanted.filter(pl.col("article_id").is_in(ids.implode())).collect(engine="streaming")


def settle_partition(
    mentions: pl.DataFrame,
    articles: pl.LazyFrame | pl.DataFrame,
    part: int,
    codebook: Codebook | None = None,
    *,
    known_masks: pl.DataFrame | None = None,
    previous_components: pl.DataFrame | None = None,
    previous_sources: pl.DataFrame | None = None,
) -> Part:
    """Cluster and settle one partition's mentions (core.cluster_and_settle). ``articles`` may be
    the whole table (a lazy scan is read for these mentions' articles only). ``known_masks``
    (MASKS_SCHEMA), ``previous_components`` and ``previous_sources`` are what a previous build
    left (dedup.cache); none of them changes the result."""
    cb = codebook or load_codebook()
    mentions = conform(mentions, Mention)
    if mentions.height == 0:
        return Part(empty_settled(mentions), pl.DataFrame(schema=MASKS_SCHEMA))
    arts = articles_of(mentions, articles)
    meta = _article_meta(arts)
    masks = ArticleMasks(article_texts(arts))
    if known_masks is not None and known_masks.height:
        masks.seed_bytes(dict(zip(known_masks["article_id"].to_list(), known_masks["mask"].to_list())))
    settled = cluster_and_settle(
        with_publication(mentions, meta),
        meta,
        masks,
        cb,
        previous_components=previous_components,
        previous_sources=previous_sources,
    )
    offset = pl.lit(part << PART_SHIFT, dtype=pl.Int64)
    settled = Settled(
        settled.mentions.with_columns(pl.col("__cluster") + offset),
        settled.events.with_columns(pl.col("__cluster") + offset),
        settled.components,
        settled.sources,
    )
    return Part(settled, masks_frame(masks))


def masks_frame(masks: ArticleMasks) -> pl.DataFrame:
    """The masks ``masks`` knows for its texts' articles (MASKS_SCHEMA, sorted), as the cache keeps them."""
    known = masks.known_bytes()
    frame = pl.DataFrame({"article_id": list(known), "mask": list(known.values())}, schema=MASKS_SCHEMA)
    return frame.filter(pl.col("article_id").is_in(text_ids(masks.texts).implode())).sort("article_id")


def empty_settled(mentions: pl.DataFrame | None = None) -> Settled:
    """Settled of a partition without mentions, with the columns a non-empty one has."""
    m = conform(mentions if mentions is not None else empty_frame(Mention), Mention)
    events = empty_frame(Event).drop("event_id")
    return Settled(
        m.drop("event_id").with_columns(pl.lit(None, dtype=pl.Int64).alias("__cluster")),
        events.with_columns(
            pl.lit(None, dtype=pl.Int64).alias("__cluster"), pl.lit(None, dtype=pl.String).alias("__founder")
        ),
        pl.DataFrame(schema=COMPONENTS_SCHEMA),
        pl.DataFrame(schema=SOURCES_SCHEMA),
    )


# ---------------------------------------------------------------------------------------------
# The merge


@dataclass(frozen=True)
class PartFrames:
    """One partition's results as lazy frames: in memory, or scans of the files a step wrote."""

    mentions: pl.LazyFrame  # Settled.mentions
    events: pl.LazyFrame  # Settled.events
    components: pl.LazyFrame
    sources: pl.LazyFrame
    masks: pl.LazyFrame

    @classmethod
    def of(cls, part: Part) -> PartFrames:
        s = part.settled
        return cls(s.mentions.lazy(), s.events.lazy(), s.components.lazy(), s.sources.lazy(), part.masks.lazy())


@dataclass(frozen=True)
class Merged:
    """The merged tables: ``events``, ``mentions`` and ``registry`` as core.DedupResult has them
    (in pieces, to be written or collected), the lineage, and what the dedup cache keeps."""

    events: SortedPieces
    mentions: SortedPieces
    registry: SortedPieces
    lineage: pl.DataFrame
    components: SortedPieces
    sources: pl.LazyFrame
    masks: SortedPieces
    n_mentions: int
    n_events: int


# check(partition index, its events, its mentions) -> anything; called once per non-empty partition
PartCheck = Callable[[int, pl.DataFrame, pl.DataFrame], object]


def merge_parts(
    parts: Sequence[PartFrames],
    registry: pl.DataFrame | pl.LazyFrame | None,
    *,
    scratch: Path | None = None,
    check: PartCheck | None = None,
    piece_rows: int = PIECE_ROWS,
) -> Merged:
    """Event ids over all partitions, then each partition's events and mentions with their ids,
    merged in key order: ids.assign_ids's result, with the mentions taken a partition at a time
    (ids.carried_ids per partition, ids.grant_ids once over every cluster). With ``scratch`` (a
    folder) the finished partitions and the retired registry rows are written there and the
    result reads them lazily, so the merge holds one partition's rows at a time and, of the rest,
    a row per event and the previous registry's (mention_id, event_id) pairs; without, they stay in
    memory. ``check`` sees each finished partition (the scale-out job runs the events' blocking
    checks there: every one of them is per event or per mention, and a partition holds all the
    mentions of its events)."""
    n_mentions = sum(p.mentions.select(pl.len()).collect().item() for p in parts)
    mention_bounds = _sample_bounds([p.mentions.select("mention_id") for p in parts], n_mentions, piece_rows)
    if n_mentions == 0:
        empty = empty_result(registry.lazy().collect() if registry is not None else None)
        return Merged(
            SortedPieces((empty.events.lazy(),), "event_id"),
            SortedPieces((empty.mentions.lazy(),), "mention_id"),
            SortedPieces((empty.registry.lazy(),), "mention_id"),
            empty.lineage,
            *_cache_tables(parts, mention_bounds, piece_rows),
            0,
            0,
        )
    carried, previous_ids, retired = _carried_ids(parts, registry)
    # The founders are read only now and handed over without a name here, so grant_ids can let go of them.
    cluster_ids, lineage = grant_ids(
        carried, pl.concat([p.events.select("__cluster", "__founder") for p in parts]).collect(), previous_ids
    )
    del carried, previous_ids
    duplicated = cluster_ids.filter(pl.col("event_id").is_duplicated())
    if duplicated.height:  # grant_ids never does this; the per-partition checks could not see it
        raise ValueError(f"event ids given to several events: {duplicated['event_id'].unique().head(5).to_list()}")
    event_bounds = _bounds(cluster_ids["event_id"].sort(), piece_rows)
    events, mentions = [], []
    for i, part in enumerate(parts):
        settled = Settled(part.mentions.collect(), part.events.collect(), pl.DataFrame(), pl.DataFrame())
        if settled.mentions.height == 0:
            continue
        ids = cluster_ids.join(settled.events.select("__cluster"), on="__cluster", how="semi")
        ev, me = with_event_ids(settled, ids)
        if ev.height != settled.events.height or me["event_id"].null_count():
            raise ValueError(
                f"partition {i}: its mentions and events do not belong together (the parts' lists are out of order?)"
            )
        del settled
        if check is not None:
            check(i, ev, me)
        events.append(_keep(ev, scratch, f"events.{i}.parquet"))
        mentions.append(_keep(me, scratch, f"mentions.{i}.parquet"))
    # The new registry, as ids.assign_ids makes it: every current mention active with its event,
    # then the previous registry's other mentions retired with their last id, by mention_id.
    active = [m.select("mention_id", "event_id", pl.lit("active").alias("status")) for m in mentions]
    registry_rows = [*active, _keep(retired, scratch, "retired.parquet")]
    return Merged(
        sorted_union(events, "event_id", event_bounds),
        sorted_union(mentions, "mention_id", mention_bounds),
        sorted_union([r.cast(REGISTRY_SCHEMA) for r in registry_rows], "mention_id", mention_bounds),
        lineage,
        *_cache_tables(parts, mention_bounds, piece_rows),
        n_mentions,
        cluster_ids.height,
    )


_MENTION_ID = r"^m[0-9a-f]{16}$"  # schemas.models.Mention.mention_id


def _carried_ids(
    parts: Sequence[PartFrames], registry: pl.DataFrame | pl.LazyFrame | None
) -> tuple[pl.DataFrame, pl.Series, pl.DataFrame]:
    """(carried: ids.carried_ids of every partition's mentions, the previous registry's event ids,
    its rows whose mention is no longer there, marked retired): the registry's (mention_id,
    event_id) pairs held once, the mentions a partition at a time.

    When every mention id is 'm' + 16 hex digits (the Mention schema's form, which validation
    guarantees), the ids are looked up as the 64-bit numbers they spell, by binary search in the
    registry's sorted numbers: they sort as the ids do (the only use carried_ids makes of them
    besides matching), and no hash table of the registry is built. On a rebuild of 10M mentions
    that took the merge's peak from 3.4 GB (strings, joins) to 2.5 GB (docs/scaling.md). Other
    ids take ids.carried_ids's join of strings, with the same result."""
    previous = (
        pl.LazyFrame(schema=REGISTRY_SCHEMA)
        if registry is None
        else registry.lazy().select(list(REGISTRY_SCHEMA)).cast(REGISTRY_SCHEMA)
    )
    well_formed = pl.col("mention_id").str.contains(_MENTION_ID).all()
    numbered = all(
        frame.select(well_formed).collect().item() is not False for frame in [previous, *(p.mentions for p in parts)]
    )
    number = pl.col("mention_id").str.slice(1).str.to_integer(base=16, dtype=pl.UInt64)
    prev = previous.select(number if numbered else pl.col("mention_id"), "event_id").with_row_index("__i").collect()
    if numbered and not prev["mention_id"].is_sorted():
        prev = prev.sort("mention_id")
    seen = np.zeros(prev.height, dtype=bool)
    carried = []
    for part in parts:
        membership = part.mentions.select(number if numbered else pl.col("mention_id"), "__cluster").collect()
        if not (prev.height and membership.height):
            continue
        if numbered:
            found, rows = _search(prev["mention_id"], membership["mention_id"])
            pairs = membership.filter(found).with_columns(prev["event_id"].gather(rows).alias("__old"))
            seen[prev["__i"].gather(rows).to_numpy()] = True
            carried.append(carried_from_pairs(pairs))
        else:
            carried.append(carried_ids(membership, prev))
            seen[prev.join(membership, on="mention_id", how="semi")["__i"].to_numpy()] = True
    previous_ids = prev["event_id"].unique()
    empty = carried_ids(prev.head(0).select("mention_id", pl.lit(0, dtype=pl.Int64).alias("__cluster")), prev.head(0))
    del prev
    retired = (
        previous.with_row_index("__i")
        .filter(pl.col("__i").is_in(pl.Series(np.flatnonzero(~seen), dtype=pl.UInt32).implode()))
        .select("mention_id", "event_id", pl.lit("retired").alias("status"))
        .collect()
        .cast(REGISTRY_SCHEMA)
        .sort("mention_id")
    )
    return pl.concat([empty, *carried]), previous_ids, retired


def _search(sorted_keys: pl.Series, keys: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(whether each of ``keys`` is in ``sorted_keys``, the rows of those found), by binary search."""
    at = sorted_keys.search_sorted(keys, side="left").cast(pl.Int64)
    inside = at < sorted_keys.len()
    found = inside & (sorted_keys.gather(at.clip(0, max(sorted_keys.len() - 1, 0))) == keys)
    return found, at.filter(found)


def _keep(frame: pl.DataFrame, scratch: Path | None, name: str) -> pl.LazyFrame:
    """``frame`` as a lazy frame: in memory, or written to ``scratch`` and scanned (sorted row
    groups with statistics, so a key-range piece reads only the groups it needs)."""
    if scratch is None:
        return frame.lazy()
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / name
    frame.write_parquet(path, compression="lz4", statistics=True, row_group_size=64_000)
    return pl.scan_parquet(path)


def _sample_bounds(keys: Sequence[pl.LazyFrame], n: int, piece_rows: int) -> list[str]:
    """Keys that cut ``n`` keys (the one column of the sorted, disjoint ``keys`` frames) into
    pieces of about ``piece_rows``, found from a sample of about 64 keys a piece (the merge then
    never holds every mention id)."""
    pieces = max(1, math.ceil(n / max(1, piece_rows)))
    if pieces == 1:
        return []
    every = max(1, n // (64 * pieces))
    sample = pl.concat([k.gather_every(every) for k in keys]).collect().to_series().sort()
    m = sample.len()
    return sorted({sample[i * m // pieces] for i in range(1, pieces)})


def _bounds(sorted_keys: pl.Series, piece_rows: int) -> list[str]:
    """Keys that cut ``sorted_keys`` (unique, sorted) into pieces of about ``piece_rows``."""
    n = sorted_keys.len()
    pieces = max(1, math.ceil(n / max(1, piece_rows)))
    return [sorted_keys[i * n // pieces] for i in range(1, pieces)]


@dataclass(frozen=True)
class SortedPieces:
    """A table sorted by a key, as key-range pieces (lazy frames), each to be sorted when read:
    written (write_parquet) or collected one piece at a time, so only a piece is ever whole in
    memory. Measured on the 8.8M events of 10M synthetic mentions from 17 sorted files: 1.0 GB
    peak written a piece at a time, 3.6 GB for polars' sink_parquet of the same pieces (its
    streaming engine runs them together), and the same with four times as many pieces."""

    pieces: tuple[pl.LazyFrame, ...]
    key: str

    def frames(self):
        for piece in self.pieces:
            yield piece.collect().sort(self.key)

    def collect(self) -> pl.DataFrame:
        return pl.concat(list(self.frames())).rechunk()

    def write_parquet(self, path: Path, compression: str = "zstd") -> int:
        """Write the pieces in order into one Parquet file (pyarrow's writer appends row groups);
        returns the number of rows."""
        import pyarrow.parquet as pq

        rows, writer = 0, None
        try:
            for frame in self.frames():
                table = frame.to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(str(path), table.schema, compression=compression)
                writer.write_table(table)
                rows += frame.height
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # no pieces
            raise ValueError("a SortedPieces without pieces")
        return rows


def sorted_union(
    frames: Sequence[pl.LazyFrame], key: str, bounds: Sequence[str], *, unique: bool = False
) -> SortedPieces:
    """The rows of ``frames`` sorted by ``key`` (unique across them, or made unique on it with
    ``unique``: the frames then agree on a key's row), cut at ``bounds`` into pieces."""
    if not frames:
        raise ValueError("sorted_union needs at least one frame")
    edges = [None, *bounds, None]
    pieces = []
    for lo, hi in itertools.pairwise(edges):
        cond = pl.lit(True)
        if lo is not None:
            cond = cond & (pl.col(key) >= lo)
        if hi is not None:
            cond = cond & (pl.col(key) < hi)
        piece = pl.concat([f.filter(cond) for f in frames])
        if unique:
            piece = piece.unique(key, keep="first", maintain_order=True)
        pieces.append(piece)
    return SortedPieces(tuple(pieces), key)


def _cache_tables(
    parts: Sequence[PartFrames], mention_bounds: Sequence[str], piece_rows: int
) -> tuple[SortedPieces, pl.LazyFrame, SortedPieces]:
    """(components, sources, masks) of all partitions as dedup.cache keeps them: components sorted
    by mention_id, sources unique and sorted, one mask per article sorted by article id."""
    components = sorted_union([p.components for p in parts], "mention_id", mention_bounds)
    sources = pl.concat([p.sources for p in parts]).unique().sort("key", "source", nulls_last=False)
    article_ids = pl.concat([p.masks.select("article_id") for p in parts]).unique().collect()["article_id"].sort()
    masks = sorted_union([p.masks for p in parts], "article_id", _bounds(article_ids, piece_rows), unique=True)
    return components, sources, masks


# ---------------------------------------------------------------------------------------------
# All in one process


def build_events_partitioned(
    mentions: pl.DataFrame,
    articles: pl.DataFrame,
    registry: pl.DataFrame | None,
    partitions: int,
    codebook: Codebook | None = None,
    *,
    known_masks: pl.DataFrame | None = None,
    previous_components: pl.DataFrame | None = None,
    previous_sources: pl.DataFrame | None = None,
    piece_rows: int = PIECE_ROWS,
    plan: Plan | None = None,
) -> DedupResult:
    """core.build_events through the partitioned path, in this process: the same DedupResult
    (events, mentions, registry, lineage, components, sources). ``plan``: another plan than
    plan_partitions's (for tests)."""
    cb = codebook or load_codebook()
    mentions = conform(mentions, Mention)
    if mentions.height == 0:
        return empty_result(registry, mentions)
    plan = plan or plan_partitions(mentions, articles, partitions, cb)
    parts = [
        PartFrames.of(
            settle_partition(
                frame.collect(),
                articles,
                p,
                cb,
                known_masks=known_masks,
                previous_components=previous_components,
                previous_sources=previous_sources,
            )
        )
        for p, frame in enumerate(split_by_plan(mentions, plan))
    ]
    merged = merge_parts(parts, registry, piece_rows=piece_rows)
    return DedupResult(
        events=merged.events.collect(),
        mentions=merged.mentions.collect(),
        registry=merged.registry.collect(),
        lineage=merged.lineage.rechunk(),
        components=merged.components.collect(),
        sources=merged.sources.collect(),
    )
