"""Writing one table as Parquet and CSV, and checksums.

Parquet keeps exact values and native lists. CSV is UTF-8, a header, RFC 4180 quoting, lists joined
with ';', and text cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or
a carriage return) prefixed with an apostrophe (OWASP's CSV-injection advice); the Parquet keeps the
exact text.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

FORMULA_START = r"^[=+\-@\t\r]"


def csv_frame(df: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            col = col.list.join(";")
            dtype = pl.String
        if dtype == pl.String:
            col = pl.when(col.str.contains(FORMULA_START)).then(pl.lit("'") + col).otherwise(col)
        exprs.append(col.alias(name))
    return df.select(exprs)


def write_table(df: pl.DataFrame, folder: Path, name: str) -> list[Path]:
    parquet = folder / f"{name}.parquet"
    csv = folder / f"{name}.csv"
    df.write_parquet(parquet, compression="zstd", statistics=True)
    csv_frame(df).write_csv(csv, quote_style="necessary", date_format="%Y-%m-%d")
    return [parquet, csv]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def frame_fingerprint(df: pl.DataFrame) -> str:
    """Content hash of a table, independent of file encoding details (the CSV form is canonical)."""
    h = hashlib.sha256()
    h.update(",".join(f"{k}:{v}" for k, v in df.schema.items()).encode())
    h.update(csv_frame(df).write_csv(date_format="%Y-%m-%d").encode())
    return h.hexdigest()
