"""The dedup stage: mentions -> one row per real-world event, with ids kept stable across releases.

:func:`deduplicate` is what the Dagster asset calls (one step); core.build_events is the pure
clustering, settling and id assignment, cache.py what a rebuild reuses. The scale-out job fans
the same work out (partitions.py): :func:`plan_dedup` splits the mentions, :func:`deduplicate_partition`
clusters and settles one partition, :func:`merge_dedup` gives the ids and writes the cache; the
result is the same as :func:`deduplicate`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.dedup.cache import DedupCache, deduplicate_with_cache
from pipeline.dedup.core import DedupResult
from pipeline.dedup.partitions import Merged, Part, PartCheck, PartFrames, Plan, merge_parts, plan_partitions
from pipeline.dedup.partitions import settle_partition as _settle_partition
from pipeline.releases import REGISTRY_FILE, load_previous_registry, read_latest, releases_dir


def deduplicate(
    valid_mentions: pl.DataFrame, articles: pl.DataFrame, *, outputs: Path, cache_root: Path
) -> tuple[DedupResult, str]:
    """Events of ``valid_mentions``, keeping the ids of the LATEST release in ``outputs`` (its id
    registry); returns the result and a one-line account of what the cache let it reuse."""
    return deduplicate_with_cache(valid_mentions, articles, load_previous_registry(outputs), cache_root)


def plan_dedup(
    valid_mentions: pl.LazyFrame, articles: pl.LazyFrame, *, partitions: int, max_per_partition: int
) -> Plan:
    """The partition of each mention: at least ``partitions``, more when a partition would hold
    more than ``max_per_partition`` mentions (what bounds a partition step's memory)."""
    n = valid_mentions.select(pl.len()).collect().item()
    count = max(partitions, -(-n // max(1, max_per_partition)))
    return plan_partitions(valid_mentions, articles, count)


def deduplicate_partition(
    mentions: pl.DataFrame, articles: pl.LazyFrame, part: int, *, cache_root: Path
) -> tuple[Part, dict[str, int]]:
    """One partition clustered and settled, reusing what the previous build's dedup cache holds
    for its mentions and articles; returns it and how many rows of each cache file it found."""
    masks, components, sources = DedupCache(cache_root).load_for_partition(
        mentions["mention_id"], mentions["article_id"].unique()
    )
    found = {
        f"cached_{name}": 0 if frame is None else frame.height
        for name, frame in (("masks", masks), ("component_rows", components), ("source_rows", sources))
    }
    part_result = _settle_partition(
        mentions, articles, part, known_masks=masks, previous_components=components, previous_sources=sources
    )
    return part_result, found


def merge_dedup(
    parts: Sequence[PartFrames], *, outputs: Path, cache_root: Path, scratch: Path, check: PartCheck | None = None
) -> Merged:
    """Event ids over every partition (kept from the LATEST release's registry), the partitions'
    tables merged (finished partitions written to ``scratch``), and the dedup cache rewritten for
    the next build (under the stage's lock, as deduplicate_with_cache)."""
    merged = merge_parts(parts, scan_previous_registry(outputs), scratch=scratch, check=check)
    cache = DedupCache(cache_root)
    with cache.stage.locked():
        cache.save_pieces(merged.masks, merged.components, merged.sources)
    return merged


def scan_previous_registry(outputs: Path) -> pl.LazyFrame | None:
    """load_previous_registry as a scan: the merge reads only the columns it needs."""
    latest = read_latest(outputs)
    path = None if latest is None else releases_dir(outputs) / latest / REGISTRY_FILE
    return pl.scan_parquet(path) if path is not None and path.is_file() else None
