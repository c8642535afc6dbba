"""The human-facing files of a release: data card (README.md), CHANGELOG.md, CITATION.cff and the
Frictionless datapackage.json. Column documentation comes from the pandera models."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

from pipeline.release.dating import core_years, known_dates
from pipeline.release.explorer import write_explorer
from pipeline.release.package import TABLE_DESCRIPTIONS, TITLE, datapackage_json
from pipeline.release.quality_record import QualityRecord, load_quality_record
from pipeline.release.render import render
from pipeline.settings import quality_record_path
from schemas.codebook import SCHEMAS_DIR, load_codebook, load_goldstein
from schemas.dictionary import markdown_table
from schemas.models import PRECISIONS, RELEASE_TABLES, conform


def _coverage(frames: dict[str, pl.DataFrame]) -> dict:
    """The figures of the card's coverage and limitations sections (dates from dated events only:
    issue 17's card read "1828 to 2040" for a corpus of news)."""
    events, articles, mentions = frames["events"], frames["articles"], frames["mentions"]
    n = events.height
    dated = events.filter(known_dates(events)) if n else events
    counts = dict(events.group_by("date_precision").len().iter_rows()) if n else {}
    c: dict = {
        "events": n,
        "articles": articles.height,
        "mentions": mentions.height,
        "dated": dated.height,
        "precisions": [(p, counts.get(p, 0)) for p in PRECISIONS],
        "open_ended": events.filter(
            (pl.col("date_precision") != "unknown") & (pl.col("date_start").is_null() | pl.col("date_end").is_null())
        ).height
        if n
        else 0,
        "unknown_share": f"{100 * counts.get('unknown', 0) / n:.0f}%" if n else "n/a",
        "multi_source": events.filter(pl.col("n_sources").fill_null(0) >= 2).height if n else 0,
        "no_outlet": articles.filter(pl.col("outlet").is_null()).height,
        "no_url": articles.filter(pl.col("url").is_null()).height,
        "no_source_urls": events.filter(pl.col("source_urls").list.len() == 0).height
        if "source_urls" in events.columns
        else n,
    }
    published = articles["published_at"].drop_nulls()
    c.update(published=published.len(), published_first=published.min(), published_last=published.max())
    if published.len():
        # Inferred publication dates have outliers too (the Tehran Times bundle: 1917 and 2057
        # among 176): the 95% range first, as for the events.
        c["published_core"] = core_years(published.dt.year())
    if dated.height:
        c["core_first"], c["core_last"] = core_years(dated["date_start"].dt.year())
        c["first"], c["last"] = dated["date_start"].min(), dated["date_end"].max()
    if n:
        by_type = events.group_by("event_type").len().sort(["len", "event_type"], descending=[True, False])
        c["by_type"] = ", ".join(f"{t} {k:,}" for t, k in by_type.iter_rows())
        countries = pl.concat([events["actor_country"], events["target_country"]]).drop_nulls()
        top = countries.value_counts().sort(["count", countries.name], descending=[True, False]).head(12)
        c["countries"] = ", ".join(f"{code} {k:,}" for code, k in top.iter_rows())
        # Issue 16: how many articles tell an event, and how many events told by many have no date
        # (before it, undated mentions collapsed years of occurrences into events of 600 articles).
        sizes = events["n_articles"]
        bins = [(1, 1), (2, 2), (3, 4), (5, 9), (10, 20), (21, None)]
        c["sizes"] = ", ".join(
            f"{lo if hi == lo else f'{lo}-{hi}' if hi else f'{lo}+'}: "
            f"{int(((sizes >= lo) & (sizes <= hi if hi else True)).sum()):,}"
            for lo, hi in bins
        )
        c["largest"] = int(sizes.max())
        c["undated_large"] = events.filter((pl.col("date_precision") == "unknown") & (sizes > 20)).height
    return c


def data_card(ctx: dict, quality: QualityRecord | None = None) -> str:
    """The release's README.md (templates/datacard.md.j2)."""
    m = ctx["manifest"]
    frames = ctx["frames"]
    quality = quality if quality is not None else load_quality_record(quality_record_path())
    cb = load_codebook()
    goldstein = load_goldstein()
    types = [
        {
            "id": tid,
            "definition": t["definition"],
            "cameo": t["cameo"],
            "goldstein": goldstein.get(str(t["cameo"]), "n/a"),
            "plover": t["plover"],
            "quad_class": t["quad_class"],
            "symmetric": "yes" if t.get("symmetric") else "no",
        }
        for tid, t in cb.event_types.items()
    ]
    tables = [
        {"name": name, "description": TABLE_DESCRIPTIONS[name], "columns": markdown_table(model)}
        for name, model in RELEASE_TABLES.items()
    ]
    return render(
        "datacard.md.j2",
        title=TITLE,
        m=m,
        quality=quality,
        quality_matches=quality.usable and quality.matches_code(str(m.get("code_version", ""))),
        c=_coverage(frames),
        counts=[(name, df.height) for name, df in frames.items()],
        types=types,
        tables=tables,
    )


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
CODEBOOK_MD = SCHEMAS_DIR / "codebook.md"


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
    quality = load_quality_record(quality_record_path())
    explorer = write_explorer(ctx["folder"], ctx["frames"], ctx["version"])
    return {
        "README.md": data_card(ctx, quality),
        "CHANGELOG.md": changelog(ctx),
        "CITATION.cff": citation(ctx),
        "datapackage.json": datapackage_json(ctx),
        # The coding rules the card and the column descriptions cite.
        "codebook.md": CODEBOOK_MD.read_bytes(),
        # credence.sqlite is written into the folder by write_explorer; its Datasette metadata:
        **explorer,
        **({"quality.json": quality.path.read_bytes()} if quality.usable else {}),
        # The chart shown on the download page, published (and checksummed) with the data it draws.
        "timeline.png": timeline.result() if timeline is not None else _timeline(ctx["frames"]["events"]),
    }
