"""The dedup stage: mentions -> one row per real-world event, with ids kept stable across releases.

:func:`deduplicate` is what the Dagster asset and the scale-out job both call; core.build_events
is the pure clustering, settling and id assignment, cache.py what a rebuild reuses.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.dedup.cache import deduplicate_with_cache
from pipeline.dedup.core import DedupResult
from pipeline.releases import load_previous_registry


def deduplicate(
    valid_mentions: pl.DataFrame, articles: pl.DataFrame, *, outputs: Path, cache_root: Path
) -> tuple[DedupResult, str]:
    """Events of ``valid_mentions``, keeping the ids of the LATEST release in ``outputs`` (its id
    registry); returns the result and a one-line account of what the cache let it reuse."""
    return deduplicate_with_cache(valid_mentions, articles, load_previous_registry(outputs), cache_root)
