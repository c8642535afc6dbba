"""Writing one table as Parquet and CSV, hashed as it is written.

Parquet keeps exact values and native lists. CSV is UTF-8, a header, RFC 4180 quoting, lists joined
with ';', and text cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or
a carriage return) prefixed with an apostrophe (OWASP's CSV-injection advice); the Parquet keeps the
exact text.
"""

from __future__ import annotations

import hashlib
import io
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


def csv_bytes(df: pl.DataFrame) -> bytes:
    """The table's CSV file, as written by write_table (and hashed by frame_fingerprint)."""
    return csv_frame(df).write_csv(quote_style="necessary", date_format="%Y-%m-%d").encode()


def parquet_bytes(df: pl.DataFrame) -> bytes:
    """The table's Parquet file (zstd, with statistics), as write_table writes it."""
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd", statistics=True)
    return buf.getvalue()


def write_bytes(path: Path, data: bytes) -> dict:
    """Write a file; return its size and sha256, hashed from memory (no second read)."""
    path.write_bytes(data)
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_table(
    df: pl.DataFrame, folder: Path, name: str, *, csv: bytes | None = None, digests: dict[str, dict] | None = None
) -> list[Path]:
    """Write ``name``.parquet and ``name``.csv (``csv``: the CSV bytes when already made); their
    sizes and sha256 go into ``digests`` when given."""
    parquet_path = folder / f"{name}.parquet"
    csv_path = folder / f"{name}.csv"
    written = {
        parquet_path.name: write_bytes(parquet_path, parquet_bytes(df)),
        csv_path.name: write_bytes(csv_path, csv_bytes(df) if csv is None else csv),
    }
    if digests is not None:
        digests.update(written)
    return [parquet_path, csv_path]


def frame_fingerprint(df: pl.DataFrame, csv: bytes | None = None) -> str:
    """Content hash of a table, independent of file encoding details (the CSV form is canonical;
    ``csv``: csv_bytes(df) when already made)."""
    h = hashlib.sha256()
    h.update(",".join(f"{k}:{v}" for k, v in df.schema.items()).encode())
    h.update(csv_bytes(df) if csv is None else csv)
    return h.hexdigest()
