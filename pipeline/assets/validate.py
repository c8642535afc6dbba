"""Validate assets: rows that meet their schema pass on; the rest go to quarantine with the reason
(pipeline/validate/stage.py). The blocking checks that guard the release are in pipeline/checks.py."""

import dagster as dg
import polars as pl

from pipeline.metadata import quarantine_summary, table_metadata
from pipeline.validate.stage import validate_mentions
from schemas.models import Mention, Quarantine


@dg.multi_asset(
    group_name="validate",
    outs={
        "valid_mentions": dg.AssetOut(
            io_manager_key="parquet_io",
            description="Mentions that meet the Mention schema and whose quote is verbatim in their "
            "article at their offsets.",
            kinds={"polars", "pandera"},
        ),
        "quarantine": dg.AssetOut(
            io_manager_key="parquet_io",
            description="Everything set aside, with its reason: ingest rejects, articles extraction left out and "
            "rows that failed validation.",
            kinds={"polars", "pandera"},
        ),
    },
)
def validate(
    context: dg.AssetExecutionContext,
    articles: pl.DataFrame,
    ingest_quarantine: pl.DataFrame,
    extracted_mentions: pl.DataFrame,
    extract_quarantine: pl.DataFrame,
):
    checked = validate_mentions(extracted_mentions, articles, ingest_quarantine, extract_quarantine)
    valid, quarantine = checked.valid, checked.quarantine
    if checked.rejected:
        context.log.warning(f"{checked.rejected} mentions failed validation and were quarantined")
    yield dg.Output(valid, "valid_mentions", metadata=table_metadata(valid, Mention, quarantined=checked.rejected))
    yield dg.Output(
        quarantine,
        "quarantine",
        metadata=table_metadata(quarantine, Quarantine, preview=quarantine_summary(quarantine)),
    )
