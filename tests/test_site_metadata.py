"""UI metadata from the pandera models (pipeline.metadata): column schema, previews, quarantine summary."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from pipeline.metadata import column_schema, definition_metadata, markdown_preview, quarantine_summary, table_metadata
from schemas.models import Event, Quarantine, conform


def test_column_schema_carries_every_model_column_with_its_description():
    schema = column_schema(Event)
    names = [c.name for c in schema.columns]
    assert names == list(Event.to_schema().columns)
    by_name = {c.name: c for c in schema.columns}
    assert by_name["event_id"].constraints.unique and not by_name["event_id"].constraints.nullable
    assert by_name["target_country"].constraints.nullable
    assert by_name["article_ids"].type == "list of string"
    assert all(c.description for c in schema.columns)
    assert definition_metadata(Event)["dagster/column_schema"] == schema


def test_markdown_preview_escapes_cells_and_says_how_many_rows_are_left_out():
    df = pl.DataFrame(
        {
            "quote": ["a | b\nc", "x" * 200, None],
            "n": [0.123456, 1.0, None],
            "d": [dt.date(2024, 1, 2), None, None],
            "ids": [["a", "b"], [], None],
        }
    )
    md = markdown_preview(df, n=2)
    lines = md.splitlines()
    assert lines[0] == "| quote | n | d | ids |"
    assert lines[2] == "| a \\| b c | 0.123 | 2024-01-02 | a;b |"
    assert lines[3].startswith("| " + "x" * 120 + "… |")
    assert md.endswith("_1 more rows not shown._")
    assert markdown_preview(df.head(0)) == "_(no rows)_"


def test_quarantine_summary_counts_reasons_most_frequent_first_with_an_example():
    rows = [
        {
            "source_file": f"f{i}.txt",
            "line": None,
            "stage": "ingest",
            "reason_code": "empty_file",
            "reason": "The file is empty.",
            "record_id": None,
            "duplicate_of": None,
            "detail": None,
        }
        for i in range(3)
    ] + [
        {
            "source_file": "b.jsonl",
            "line": 4,
            "stage": "ingest",
            "reason_code": "bad_json",
            "reason": "Line 4 is not JSON.",
            "record_id": None,
            "duplicate_of": None,
            "detail": None,
        }
    ]
    md = quarantine_summary(conform(pl.DataFrame(rows), Quarantine))
    lines = md.splitlines()
    assert lines[0] == "| stage | reason_code | rows | example | example_file |"
    assert lines[2] == "| ingest | empty_file | 3 | The file is empty. | f0.txt |"
    assert lines[3] == "| ingest | bad_json | 1 | Line 4 is not JSON. | b.jsonl |"
    assert quarantine_summary(conform(pl.DataFrame(rows).head(0), Quarantine)) == "_Nothing quarantined._"


def test_table_metadata_has_row_count_schema_and_preview():
    df = pl.DataFrame({"a": [1, 2]})
    meta = table_metadata(df, Event, preview="| a |", extra_key=3)
    assert meta["dagster/row_count"] == dg.MetadataValue.int(2)
    assert isinstance(meta["dagster/column_schema"], dg.TableSchema)
    assert meta["preview"] == dg.MetadataValue.md("| a |")
    assert meta["extra_key"] == 3
