"""The ingest stage: a raw folder -> articles + everything that could not become one.

:func:`ingest_articles` is what the Dagster asset and the scale-out job both call; the logic is in
core.py (walk, decode, normalize, deduplicate texts, date them) and cache.py (incremental reads).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.ingest.core import IngestResult, ingest_raw
from pipeline.text.lexicon import role_lower_bounds


def ingest_articles(raw_dir: Path, cache_root: Path | None, *, workers: int = 1) -> IngestResult:
    """Articles and ingest quarantine of ``raw_dir``. Publication dates take the start of any dated
    role the wording presupposes as a lower bound ("Taliban-appointed" -> after 2021-08-15); with
    ``cache_root`` unchanged inputs are not read again; ``workers`` > 1 dates many texts in two
    processes."""
    return ingest_raw(raw_dir, publication_hints=role_lower_bounds, cache_dir=cache_root, workers=workers)
