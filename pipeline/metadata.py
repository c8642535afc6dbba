"""Dagster metadata built from the pandera models: column schema, row counts, Markdown previews.

The column schema (names, types, descriptions, nullable/unique) is the one the release files are
checked against, so the UI documents exactly what is published. ``definition_metadata`` puts it on
an asset's definition (visible before the first run); ``table_metadata`` repeats it on each
materialization together with the row count and a preview.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandera.polars as pa
import polars as pl

from schemas.dictionary import columns

CELL_CHARS = 120


def column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.type_name,
                description=c.description,
                constraints=dg.TableColumnConstraints(nullable=c.nullable, unique=c.unique),
            )
            for c in columns(model)
        ]
    )


def definition_metadata(model: type[pa.DataFrameModel]) -> dict:
    """For ``AssetOut(metadata=...)`` / ``@asset(metadata=...)``: the column schema on the definition."""
    return {"dagster/column_schema": column_schema(model)}


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        s = ";".join(map(str, value))
    elif isinstance(value, float):
        s = f"{value:.3g}"
    elif isinstance(value, (dt.date, dt.datetime)):
        s = value.isoformat()
    else:
        s = str(value)
    # A pipe or newline would break the Markdown table; long quotes are cut to keep rows readable.
    s = s.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return s[:CELL_CHARS] + ("…" if len(s) > CELL_CHARS else "")


def markdown_preview(df: pl.DataFrame, cols: list[str] | None = None, n: int = 10) -> str:
    """The first n rows of df (already sorted by the caller) as a Markdown table."""
    if df.is_empty():
        return "_(no rows)_"
    view = (df.select(cols) if cols else df).head(n)
    header = "| " + " | ".join(view.columns) + " |\n|" + "---|" * len(view.columns) + "\n"
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in view.iter_rows()]
    more = f"\n\n_{df.height - view.height} more rows not shown._" if df.height > view.height else ""
    return header + "\n".join(rows) + more


def table_metadata(df: pl.DataFrame, model: type[pa.DataFrameModel], *, preview: str | None = None, **extra) -> dict:
    meta = {
        "dagster/column_schema": column_schema(model),
        "dagster/row_count": dg.MetadataValue.int(df.height),
    }
    if preview is not None:
        meta["preview"] = dg.MetadataValue.md(preview)
    meta.update(extra)
    return meta


def quarantine_summary(quarantine: pl.DataFrame) -> str:
    """Reasons with their counts, most frequent first, each with one example message and file."""
    if quarantine.is_empty():
        return "_Nothing quarantined._"
    counts = (
        quarantine.sort(["source_file", "line"], nulls_last=True)
        .group_by("stage", "reason_code", maintain_order=True)
        .agg(
            pl.len().alias("rows"),
            pl.col("reason").first().alias("example"),
            pl.col("source_file").first().alias("example_file"),
        )
        .sort(["rows", "stage", "reason_code"], descending=[True, False, False])
    )
    return markdown_preview(counts, n=50)
