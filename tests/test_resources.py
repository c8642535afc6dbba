"""The Parquet IO manager hands a table it just wrote or read to the next step without reading the
file again, and never hands out a table that another process has replaced since."""

import os

import dagster as dg
import polars as pl

from pipeline import resources
from pipeline.resources import CredenceSettings, ParquetIOManager


def _manager(tmp_path):
    settings = CredenceSettings(raw_dir=str(tmp_path / "raw"), outputs_dir=str(tmp_path / "out"))
    return ParquetIOManager(settings=settings)


def test_recent_table_is_reused_and_a_replaced_file_is_read_again(tmp_path, monkeypatch):
    io = _manager(tmp_path)
    key = dg.AssetKey("articles")
    frame = pl.DataFrame({"a": [1, 2, 3]})
    io.handle_output(dg.build_output_context(asset_key=key), frame)
    reads = []
    real_read = pl.read_parquet
    monkeypatch.setattr(resources.pl, "read_parquet", lambda p, *a, **k: reads.append(p) or real_read(p, *a, **k))

    load = lambda: io.load_input(dg.build_input_context(upstream_output=dg.build_output_context(asset_key=key)))  # noqa: E731
    assert load() is frame and reads == []

    # Another build replaces the file: its table is read, not the remembered one.
    path = tmp_path / "out" / ".work" / "articles.parquet"
    other = tmp_path / "other.parquet"
    pl.DataFrame({"a": [9]}).write_parquet(other)
    os.replace(other, path)
    assert load()["a"].to_list() == [9] and len(reads) == 1
    assert load()["a"].to_list() == [9] and len(reads) == 1  # and that one is remembered
