"""The extract stage: articles -> event mentions.

:func:`extract_mentions` is what the Dagster asset and each bucket of the scale-out job call; the
logic is in extractor.py (gate, parse, code: see its docstring) and cache.py (only new or
changed articles are extracted).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from pipeline.extract.budget import REASON_CODE
from pipeline.extract.cache import ARTICLE_FIELDS, ExtractionStats, extract_incremental, extraction_cache
from pipeline.extract.extractor import extractor_fingerprint as _fingerprint
from pipeline.extract.parse import ParseCache
from schemas.models import Mention, Quarantine, conform, empty_frame

__all__ = ["ARTICLE_FIELDS", "combine_mentions", "extract_mentions", "extractor_fingerprint", "skipped_quarantine"]


def extract_mentions(
    articles: pl.DataFrame, cache_root: Path, *, workers: int = 1, part: str | None = None
) -> tuple[pl.DataFrame, ExtractionStats]:
    """Mentions of ``articles`` (ARTICLE_FIELDS are read), reusing what the cache under
    ``cache_root`` holds; ``part`` names a cache of its own (one bucket of the scale-out job)."""
    return extract_incremental(articles, extraction_cache(cache_root, part), workers, ParseCache(cache_root, part))


def skipped_quarantine(skipped: pl.DataFrame, articles: pl.DataFrame) -> pl.DataFrame:
    """Quarantine rows (stage extract) for the articles extraction left out (``stats.skipped``),
    each naming its input (``articles``' source_file) and the article."""
    if "source_file" in articles.columns:
        named = skipped.join(articles.select("article_id", "source_file"), on="article_id", how="left")
    else:
        named = skipped.with_columns(pl.lit(None, pl.String).alias("source_file"))
    rows = named.select(
        pl.col("source_file").fill_null("(unknown)"),
        pl.lit(None, pl.Int64).alias("line"),
        pl.lit("extract").alias("stage"),
        pl.lit(REASON_CODE).alias("reason_code"),
        "reason",
        pl.col("article_id").alias("record_id"),
        pl.lit(None, pl.String).alias("duplicate_of"),
        "detail",
    )
    return conform(rows, Quarantine).sort("source_file", "record_id")


def combine_mentions(parts: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """The mentions of several extractions (the scale-out job's buckets) as one table: the same
    union extract_incremental makes of its cached and fresh parts."""
    frames = [p for p in parts if p.height] or [empty_frame(Mention)]
    return conform(pl.concat(frames).unique("mention_id", keep="first").sort("mention_id"), Mention)


def extractor_fingerprint() -> str:
    """What produced the mentions (extractor code, text layer, codebook and dictionaries): the
    extraction cache's key, and the release manifest's provenance."""
    return _fingerprint()
