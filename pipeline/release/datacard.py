"""The human-facing files of a release: data card (README.md), CHANGELOG.md, CITATION.cff and the
Frictionless datapackage.json. Column documentation comes from the pandera models."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

from pipeline.release.package import TABLE_DESCRIPTIONS, TITLE, datapackage_json
from schemas.codebook import load_codebook
from schemas.dictionary import markdown_table
from schemas.models import RELEASE_TABLES, conform


def _coverage(events: pl.DataFrame) -> list[str]:
    if events.is_empty():
        return ["- No events in this release."]
    lines = []
    dated = events.filter(pl.col("date_precision") != "unknown")
    if dated.height:
        lines.append(
            f"- Event dates: {dated['date_start'].min()} to {dated['date_end'].max()} "
            f"({dated.height} of {events.height} events dated; the rest have precision `unknown`)."
        )
    by_type = events.group_by("event_type").len().sort(["len", "event_type"], descending=[True, False])
    lines.append("- Events by type: " + ", ".join(f"{t} {n}" for t, n in by_type.iter_rows()))
    countries = pl.concat([events["actor_country"], events["target_country"]]).drop_nulls()
    top = countries.value_counts().sort(["count", countries.name], descending=[True, False]).head(12)
    lines.append("- Countries most involved (actor or target): " + ", ".join(f"{c} {n}" for c, n in top.iter_rows()))
    lines.append(f"- Multi-source events (n_sources >= 2): {events.filter(pl.col('n_sources') >= 2).height}")
    return lines


def data_card(ctx: dict) -> str:
    m = ctx["manifest"]
    frames = ctx["frames"]
    cb = load_codebook()
    counts = "\n".join(f"| {name} | {df.height} |" for name, df in frames.items())
    types = "\n".join(
        f"| `{tid}` | {t['definition']} | {t['cameo']} | {t['plover']} | {t['quad_class']} | "
        f"{'yes' if t.get('symmetric') else 'no'} |"
        for tid, t in cb.event_types.items()
    )
    columns = "\n\n".join(
        f"### `{name}`\n\n{TABLE_DESCRIPTIONS[name]}\n\n{markdown_table(model)}"
        for name, model in RELEASE_TABLES.items()
    )
    return f"""# {TITLE}, release {m["version"]}

Diplomatic events coded from news articles: who did what to whom, when, with the words that say so.
Each real-world event is one row in `events`, with every source behind it; `mentions` holds each
sentence that tells it, with character offsets into the article and the verbatim quote.

- Version: `{m["version"]}` (previous: `{m["previous_version"] or "none"}`), released {m["released_on"]}
- Changes since the previous release: see `CHANGELOG.md` and the `changes` table.

## Files

Each table comes as Parquet (exact values, native lists) and CSV (UTF-8, header, RFC 4180 quoting,
lists joined with `;`). `datapackage.json` describes them (Frictionless); `SHA256SUMS` lets you check
them with `sha256sum -c SHA256SUMS`.

| table | rows |
|---|---|
{counts}

CSV safety: text cells that begin with `=`, `+`, `-`, `@`, a tab or a carriage return are prefixed
with an apostrophe in the CSV files so that spreadsheets do not run them as formulas. The Parquet
files keep the exact text.

## Coverage

{chr(10).join(_coverage(frames["events"]))}

## How to read it

```python
import polars as pl
events = pl.read_parquet("events.parquet")
```
```python
import pandas as pd
events = pd.read_parquet("events.parquet")
```
```sql
-- DuckDB
SELECT event_type, count(*) FROM 'events.parquet' GROUP BY 1 ORDER BY 2 DESC;
```

## Codebook

Event types (CAMEO and PLOVER mappings for joining with GDELT, ICEWS, Phoenix and POLECAT):

| event_type | definition | CAMEO | PLOVER | quad class | symmetric |
|---|---|---|---|---|---|
{types}

Modality: asserted, planned, denied, hypothetical. Dates are intervals `[date_start, date_end]` with
a precision (day, week, month, year, unknown) and a basis (explicit, relative, publication, none);
an article's publication date is never taken from a file or run time.

## Columns

{columns}

## Provenance

- Code version: `{m["code_version"]}`
- Dictionaries and codebook fingerprint: `{m["dictionaries_fingerprint"]}`
- Inputs hash (sha256 over the sorted article hashes and quarantined inputs): `{m["inputs_sha256"]}`
- Data fingerprint: `{m["data_fingerprint"]}`
- Event ids are stable across releases; `id_registry.parquet` maps every mention id to its event id.

## Licence

The coded data (tables and documentation) is released under CC BY 4.0. Quotes are short excerpts of
the source articles, which keep their own licences (e.g. Tehran Times / Mehr News Agency content is
CC BY 4.0); the full article texts are not redistributed.
"""


def changelog(ctx: dict) -> str:
    head = "# Change log\n\n"
    previous = ctx["previous_changelog"]
    if previous.startswith(head):
        previous = previous[len(head) :]
    return head + ctx["changelog_entry"].rstrip() + "\n\n" + previous.lstrip()


def citation(ctx: dict) -> str:
    m = ctx["manifest"]
    return f"""cff-version: 1.2.0
message: "If you use this dataset, please cite it as below."
type: dataset
title: "{TITLE}"
version: "{m["version"]}"
date-released: "{m["released_on"]}"
license: CC-BY-4.0
authors:
  - name: "The Credence project"
keywords:
  - event data
  - diplomacy
  - CAMEO
  - PLOVER
"""


TIMELINE_TITLE = "Dated events by actor country"


def _timeline(events: pl.DataFrame) -> bytes:
    # Imported here, in the chart's thread: matplotlib takes ~0.7 s to import, which then overlaps
    # with writing the tables instead of delaying every build's start (and a build that publishes
    # nothing never imports it).
    from pipeline.release.chart import timeline_png

    return timeline_png(conform(events, RELEASE_TABLES["events"]), title=TIMELINE_TITLE)


def start_timeline(events: pl.DataFrame) -> Future:
    """Draw the release's timeline in a worker thread, starting now: it is mostly Python
    (matplotlib) while conforming and writing the tables is mostly polars, which releases the GIL,
    so the two overlap. It needs only the events (the title names no version), so the caller can
    start it before the release is even fingerprinted; an unchanged build just drops it."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="release-chart")
    try:
        return pool.submit(_timeline, events)
    finally:
        pool.shutdown(wait=False)


def render_extras(ctx: dict, timeline: Future | None = None) -> dict[str, str | bytes]:
    """The release's files besides the tables; ``timeline`` is the chart started by start_timeline
    (drawn here when not given)."""
    return {
        "README.md": data_card(ctx),
        "CHANGELOG.md": changelog(ctx),
        "CITATION.cff": citation(ctx),
        "datapackage.json": datapackage_json(ctx),
        # The chart shown on the download page, published (and checksummed) with the data it draws.
        "timeline.png": timeline.result() if timeline is not None else _timeline(ctx["frames"]["events"]),
    }
