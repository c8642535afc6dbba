"""The human-facing files of a release: data card (README.md), CHANGELOG.md, CITATION.cff and the
Frictionless datapackage.json. Column documentation comes from the pandera models."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl

from pipeline.storage import sha256_file
from schemas.codebook import load_codebook
from schemas.dictionary import frictionless_schema, markdown_table
from schemas.models import RELEASE_TABLES, conform

TITLE = "Credence diplomatic events"
LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0",
}
TABLE_DESCRIPTIONS = {
    "events": "One row per real-world event: the deduplicated cluster of its mentions across articles and outlets.",
    "mentions": "One row per extraction: one event told by one sentence of one article, with the "
    "verbatim quote and offsets.",
    "articles": "One row per distinct input text, with where it came from and when it was published.",
    "quarantine": "Every input that did not become an article and every row that failed validation, with the reason.",
    "changes": "What changed since the previous release: events added, updated (which fields), removed, "
    "merged or split.",
}


def datapackage(ctx: dict) -> str:
    folder: Path = ctx["folder"]
    manifest = ctx["manifest"]
    digests: dict[str, dict] = ctx.get("digests") or {}

    def size_and_sha(path: Path) -> tuple[int, str]:
        # The writer passes the files' digests, made as it wrote them; otherwise read the file.
        d = digests.get(path.name)
        return (d["bytes"], d["sha256"]) if d else (path.stat().st_size, sha256_file(path))

    resources = []
    for name, model in RELEASE_TABLES.items():
        csv = folder / f"{name}.csv"
        parquet = folder / f"{name}.parquet"
        csv_size, csv_sha = size_and_sha(csv)
        parquet_size, parquet_sha = size_and_sha(parquet)
        resources.append(
            {
                "name": name,
                "profile": "tabular-data-resource",
                "path": csv.name,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "description": TABLE_DESCRIPTIONS[name],
                "bytes": csv_size,
                "hash": "sha256:" + csv_sha,
                "schema": frictionless_schema(model),
                # The same table with native types and lists; Frictionless tools need a plugin to read it,
                # so it is described here rather than as a second resource.
                "credence:parquet": {"path": parquet.name, "bytes": parquet_size, "sha256": parquet_sha},
            }
        )
    package = {
        "profile": "tabular-data-package",
        "name": "credence-diplomatic-events",
        "title": TITLE,
        "version": manifest["version"],
        "description": "Who did what to whom, when, with the words that say so: diplomatic events coded "
        "from news articles, deduplicated across sources.",
        "licenses": [LICENSE],
        "created": ctx["today"].isoformat() + "T00:00:00Z",
        "resources": resources,
    }
    return json.dumps(package, indent=2) + "\n"


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
    # Issue 16: how many articles tell an event, and how many events have no known date.
    bins = [(1, 1), (2, 2), (3, 4), (5, 9), (10, 20), (21, None)]
    sizes = events["n_articles"]
    parts = [
        f"{lo if hi == lo else f'{lo}-{hi}' if hi else f'{lo}+'}: "
        f"{int(((sizes >= lo) & (sizes <= hi if hi else True)).sum())}"
        for lo, hi in bins
    ]
    lines.append(f"- Events by number of articles telling them: {', '.join(parts)} (largest: {sizes.max()}).")
    undated = events.filter(pl.col("date_precision") == "unknown").height
    lines.append(
        f"- Undated events (precision `unknown`): {undated} of {events.height} ({undated / events.height:.1%}); "
        f"{events.filter((pl.col('date_precision') == 'unknown') & (sizes > 20)).height} of them told by more "
        "than 20 articles."
    )
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


TIMELINE_TITLE = "Events by date and country"


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
        "datapackage.json": datapackage(ctx),
        # The chart shown on the download page, published (and checksummed) with the data it draws.
        "timeline.png": timeline.result() if timeline is not None else _timeline(ctx["frames"]["events"]),
    }
