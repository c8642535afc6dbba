"""Change log between two releases: added, updated (which fields), removed, merged, split.

- merged / split rows come from the dedup lineage (ids carried by the mentions); a merged row's
  ``fields`` lists what changed on the surviving event, so the survivor is not listed again as
  updated, and the folded ids are not listed as removed.
- A split-off event is listed as split (from the id it left), not as added.
- ``summary`` is derived from the other columns, so it is not reported as a changed field.
"""

from __future__ import annotations

import polars as pl

from schemas.models import CHANGE_TYPES, Change, Event, conform, empty_frame, polars_schema

_IGNORED_FIELDS = {"event_id", "summary"}


def _changed_fields(prev: pl.DataFrame, cur: pl.DataFrame) -> pl.DataFrame:
    """(event_id, fields) for every id present in both, fields in Event column order."""
    # A column one side lacks (a column added to the releases since) is no change of the event.
    compared = [c for c in polars_schema(Event) if c not in _IGNORED_FIELDS and c in cur.columns and c in prev.columns]
    both = cur.join(prev, on="event_id", how="inner", suffix="__prev")
    flags = pl.concat_list(
        [pl.when(pl.col(c).ne_missing(pl.col(f"{c}__prev"))).then(pl.lit(c)) for c in compared]
    ).list.drop_nulls()
    return both.select("event_id", flags.alias("fields"))


def build_changes(prev_events: pl.DataFrame | None, events: pl.DataFrame, lineage: pl.DataFrame | None) -> pl.DataFrame:
    """schemas.models.Change rows, sorted by change type (CHANGE_TYPES order) then event id."""
    cur = conform(events, Event)
    prev = conform(prev_events, Event) if prev_events is not None else empty_frame(Event)
    lin = (
        lineage
        if lineage is not None and lineage.height
        else pl.DataFrame(
            schema={"change_type": pl.String, "event_id": pl.String, "related_event_ids": pl.List(pl.String)}
        )
    )
    lin = lin.filter(pl.col("event_id").is_in(cur["event_id"].implode()))
    summaries = cur.select("event_id", "summary")
    prev_summaries = prev.select("event_id", pl.col("summary").alias("prev_summary"))
    fields = _changed_fields(prev, cur)
    empty = pl.lit([], dtype=pl.List(pl.String))

    merged = (
        lin.filter(pl.col("change_type") == "merged")
        .select("change_type", "event_id", "related_event_ids")
        .join(fields, on="event_id", how="left")
        .join(summaries, on="event_id")
        .with_columns(
            pl.col("fields").fill_null(empty),
            pl.concat_str(
                [pl.col("related_event_ids").list.join(", "), pl.lit(" merged into it; now: "), pl.col("summary")]
            ).alias("detail"),
        )
    )
    split = (
        lin.filter(pl.col("change_type") == "split")
        .select("change_type", "event_id", "related_event_ids")
        .join(summaries, on="event_id")
        .with_columns(
            empty.alias("fields"),
            pl.concat_str(
                [pl.lit("split from "), pl.col("related_event_ids").list.join(", "), pl.lit("; "), pl.col("summary")]
            ).alias("detail"),
        )
    )
    in_lineage = pl.concat([merged.select("event_id"), split.select("event_id")])
    folded = merged.select(pl.col("related_event_ids").explode().alias("event_id"))

    added = (
        cur.join(prev.select("event_id"), on="event_id", how="anti")
        .join(in_lineage, on="event_id", how="anti")
        .select(
            pl.lit("added").alias("change_type"),
            "event_id",
            empty.alias("related_event_ids"),
            empty.alias("fields"),
            pl.col("summary").alias("detail"),
        )
    )
    updated = (
        fields.filter(pl.col("fields").list.len() > 0)
        .join(merged.select("event_id"), on="event_id", how="anti")
        .join(summaries, on="event_id")
        .select(
            pl.lit("updated").alias("change_type"),
            "event_id",
            empty.alias("related_event_ids"),
            "fields",
            pl.concat_str(
                [pl.lit("changed "), pl.col("fields").list.join(", "), pl.lit("; now: "), pl.col("summary")]
            ).alias("detail"),
        )
    )
    removed = (
        prev_summaries.join(cur.select("event_id"), on="event_id", how="anti")
        .join(folded, on="event_id", how="anti")
        .select(
            pl.lit("removed").alias("change_type"),
            "event_id",
            empty.alias("related_event_ids"),
            empty.alias("fields"),
            pl.col("prev_summary").alias("detail"),
        )
    )
    rank = {t: i for i, t in enumerate(CHANGE_TYPES)}
    out = pl.concat([conform(f, Change) for f in (added, updated, removed, merged, split)])
    return (
        out.with_columns(pl.col("change_type").replace_strict(rank, return_dtype=pl.Int8).alias("__rank"))
        .sort("__rank", "event_id")
        .drop("__rank")
    )


def render_changelog_md(changes: pl.DataFrame, version: str, previous_version: str | None) -> str:
    """Markdown change log: a count per change type, then one bullet per change."""
    lines = [f"# Changes in {version}", ""]
    lines.append(f"Compared with {previous_version}." if previous_version else "First release: every event is new.")
    lines.append("")
    counts = {t: changes.filter(pl.col("change_type") == t).height for t in CHANGE_TYPES}
    lines += ["| change | events |", "|---|---:|"]
    lines += [f"| {t} | {counts[t]} |" for t in CHANGE_TYPES]
    for t in CHANGE_TYPES:
        rows = changes.filter(pl.col("change_type") == t).sort("event_id")
        if rows.height == 0:
            continue
        lines += ["", f"## {t.capitalize()} ({rows.height})", ""]
        for row in rows.iter_rows(named=True):
            detail = (row["detail"] or "").replace("\n", " ")
            lines.append(f"- `{row['event_id']}`: {detail}")
    if not changes.height:
        lines += ["", "No changes."]
    return "\n".join(lines) + "\n"
