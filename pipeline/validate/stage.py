"""The validate stage: rows that meet their schema pass on; the rest go to quarantine with the reason.

:func:`validate_mentions` is what the Dagster asset and the scale-out job both call; rows.py
splits a table by its pandera model, checks.py holds the blocking checks both paths run.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.validate.rows import quote_failures, split_valid
from schemas.models import Mention, Quarantine, conform


@dataclass(frozen=True)
class Validated:
    valid: pl.DataFrame  # mentions that meet the Mention schema with verbatim quotes
    quarantine: pl.DataFrame  # ingest rejects plus the mentions set aside here
    rejected: int  # mentions set aside here


def validate_mentions(
    extracted: pl.DataFrame,
    articles: pl.DataFrame,
    ingest_quarantine: pl.DataFrame,
    extract_quarantine: pl.DataFrame | None = None,
) -> Validated:
    """Every mention is checked against its pandera model and its quote against its article at
    its offsets; failing rows join the ingest and extraction quarantine, each with the checks it
    failed."""
    texts = articles.select("article_id", "text", "source_file")
    valid, rejected = split_valid(
        extracted,
        Mention,
        stage="validate",
        record_id_col="mention_id",
        source_files=texts,
        extra_failures=quote_failures(conform(extracted, Mention), texts),
    )
    earlier = [ingest_quarantine] if extract_quarantine is None else [ingest_quarantine, extract_quarantine]
    quarantine = conform(pl.concat([*(conform(q, Quarantine) for q in earlier), rejected]), Quarantine).sort(
        ["stage", "source_file", "line", "record_id"], nulls_last=True
    )
    return Validated(valid, quarantine, rejected.height)
