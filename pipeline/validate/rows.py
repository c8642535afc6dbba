"""Row-level validation: split a table into rows that meet their pandera model and quarantine rows.

pandera runs eagerly on polars frames (``lazy=True`` collects every failure); each failing row
goes to quarantine with the checks it failed, the rest pass on. One bad row never fails the stage.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.models import Quarantine, conform, empty_frame


def schema_failures(df: pl.DataFrame, model: type[pa.DataFrameModel]) -> dict[int, list[str]]:
    """Map row index -> list of 'column: check (value)' failures. Table-level failures (a missing
    column, a wrong dtype) raise: they are code defects, not bad rows."""
    try:
        model.validate(df, lazy=True)
        return {}
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    failures: dict[int, list[str]] = {}
    table_level = []
    for row in cases.iter_rows(named=True):
        idx = row.get("index")
        what = f"{row.get('column') or 'row'}: {row.get('check')} (value {row.get('failure_case')!r})"
        if idx is None:
            table_level.append(what)
        else:
            failures.setdefault(int(idx), []).append(what)
    if table_level:
        raise ValueError(f"{model.__name__} table-level schema failure: {'; '.join(table_level)}")
    return failures


def quote_failures(mentions: pl.DataFrame, texts: pl.DataFrame) -> dict[int, list[str]]:
    """Rows whose quote is not the verbatim substring of their article at their offsets, or whose
    article does not exist."""
    joined = (
        mentions.with_row_index("_row")
        .select("_row", "article_id", "char_start", "char_end", "quote")
        .join(texts.select("article_id", "text"), on="article_id", how="left")
    )
    failures: dict[int, list[str]] = {}
    missing = joined.filter(pl.col("text").is_null())
    for row in missing.iter_rows(named=True):
        failures.setdefault(row["_row"], []).append(f"article_id: article {row['article_id']} does not exist")
    present = joined.filter(pl.col("text").is_not_null()).with_columns(
        pl.col("text").str.slice(pl.col("char_start"), pl.col("char_end") - pl.col("char_start")).alias("_span")
    )
    for row in present.filter(pl.col("_span") != pl.col("quote")).iter_rows(named=True):
        failures.setdefault(row["_row"], []).append(
            f"quote: not verbatim at [{row['char_start']}, {row['char_end']}) of article {row['article_id']}"
        )
    return failures


def split_valid(
    df: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    stage: str,
    record_id_col: str,
    source_files: pl.DataFrame | None = None,
    extra_failures: dict[int, list[str]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (valid rows, quarantine rows). ``source_files`` maps article_id -> source_file so a
    quarantined row names the input it came from."""
    df = conform(df, model)
    failures = schema_failures(df, model)
    for idx, msgs in (extra_failures or {}).items():
        failures.setdefault(idx, []).extend(msgs)
    if not failures:
        return df, empty_frame(Quarantine)
    bad_idx = sorted(failures)
    mask = pl.Series("_bad", [False] * df.height)
    mask = mask.scatter(bad_idx, True)
    valid = df.filter(~mask)
    bad = df.filter(mask).with_columns(pl.Series("_detail", ["; ".join(failures[i]) for i in bad_idx]))
    if source_files is not None and "article_id" in bad.columns:
        bad = bad.join(
            source_files.select("article_id", "source_file"), on="article_id", how="left", maintain_order="left"
        )
    else:
        bad = bad.with_columns(pl.lit(None, dtype=pl.String).alias("source_file"))
    quarantine = bad.select(
        pl.col("source_file").fill_null("(unknown)"),
        pl.lit(None, dtype=pl.Int64).alias("line"),
        pl.lit(stage).alias("stage"),
        pl.lit("schema_error").alias("reason_code"),
        (pl.lit(f"{model.__name__} row failed validation: ") + pl.col("_detail")).alias("reason"),
        pl.col(record_id_col).cast(pl.String).alias("record_id"),
        pl.lit(None, dtype=pl.String).alias("duplicate_of"),
        pl.col("_detail").alias("detail"),
    )
    return valid, conform(quarantine, Quarantine)
