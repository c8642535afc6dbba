"""Dagster metadata built from the pandera models: column schema, row counts, Markdown previews."""
from __future__ import annotations

import dagster as dg
import pandera.polars as pa
import polars as pl

from schemas.dictionary import columns


def column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(
            name=c.name,
            type=c.type_name,
            description=c.description,
            constraints=dg.TableColumnConstraints(nullable=c.nullable, unique=c.unique),
        )
        for c in columns(model)
    ])


def markdown_preview(df: pl.DataFrame, cols: list[str] | None = None, n: int = 10) -> str:
    if df.is_empty():
        return "_(no rows)_"
    view = df.select(cols) if cols else df
    view = view.head(n)
    header = "| " + " | ".join(view.columns) + " |\n|" + "---|" * len(view.columns) + "\n"
    rows = []
    for row in view.iter_rows():
        cells = []
        for v in row:
            s = ";".join(map(str, v)) if isinstance(v, list) else ("" if v is None else str(v))
            s = s.replace("|", "\\|").replace("\n", " ")
            cells.append(s[:120] + ("…" if len(s) > 120 else ""))
        rows.append("| " + " | ".join(cells) + " |")
    return header + "\n".join(rows)


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
    if quarantine.is_empty():
        return "_Nothing quarantined._"
    counts = quarantine.group_by("stage", "reason_code").len().sort(["len", "stage", "reason_code"], descending=[True, False, False])
    return markdown_preview(counts.rename({"len": "rows"}), n=50)
