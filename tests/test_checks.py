"""The blocking checks: one registry (pipeline/validate/checks.py) turned into asset checks by one
factory (pipeline/checks.py) and run as they are by the scale-out job."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.checks import TABLE_CHECKS, asset_check_from_registry
from pipeline.validate.checks import CHECKS, SCHEMAS, TableCheck, provenance_complete, run_checks
from schemas.models import Event, Mention, empty_frame


def test_every_registry_entry_is_an_asset_check_on_its_table_reading_its_needs():
    assert len(TABLE_CHECKS) == len(CHECKS)
    assert {name for name, _, _ in SCHEMAS.values()} <= {c.name for c in CHECKS}
    for check, definition in zip(CHECKS, TABLE_CHECKS):
        (spec,) = definition.check_specs
        assert (spec.name, spec.asset_key.to_user_string(), spec.blocking) == (check.name, check.table, check.blocking)
        reads = {key.to_user_string() for key in definition.keys_by_input_name.values()}
        assert reads == {check.table, *check.needs}, check.name


def _provenance_tables(broken: bool) -> dict[str, pl.DataFrame]:
    events = pl.DataFrame({"event_id": ["e1"], "mention_ids": [["m1", "m2"]]})
    mentions = pl.DataFrame(
        {"mention_id": ["m1", "m2"], "event_id": ["e1", "e2" if broken else "e1"], "article_id": ["a1", "a1"]}
    )
    return {"events": events, "mentions": mentions, "articles": pl.DataFrame({"article_id": ["a1"]})}


@pytest.mark.parametrize("broken", [False, True])
def test_the_scale_out_path_runs_the_same_functions(broken):
    tables = _provenance_tables(broken)
    direct = provenance_complete(tables["events"], tables["mentions"], tables["articles"])
    assert direct.passed is not broken
    if broken:
        assert direct.metadata["mentions_pointing_elsewhere"] == 1 and direct.metadata["mentions_without_event"] == 1
    outcomes = run_checks(tables, {"events"})
    assert outcomes["events_provenance_complete"] == direct
    # The schema check of events runs too, and fails here: these events lack the Event columns.
    assert not outcomes["events_match_schema"].passed and "error" in outcomes["events_match_schema"].metadata


def test_schema_checks_pass_an_empty_table_of_their_model():
    outcomes = run_checks(
        {
            "events": empty_frame(Event),
            "mentions": empty_frame(Mention),
            "articles": pl.DataFrame({"article_id": []}, schema={"article_id": pl.String}),
        },
        {"events"},
    )
    assert all(o.passed for o in outcomes.values()), outcomes


def test_a_registry_entry_whose_function_reads_other_tables_than_it_names_is_refused():
    entry = TableCheck("odd", "events", "reads two tables, names none", provenance_complete, needs=("mentions",))
    with pytest.raises(ValueError, match="takes 3 tables"):
        asset_check_from_registry(entry)


# --- issue 16 -------------------------------------------------------------------------------------


def _dated_tables(start, published_at=None, collected_at=None, modality="asserted"):
    import datetime as dt

    from tests.synthetic import frames, mention_row

    d = dt.date.fromisoformat(start)
    rows = [mention_row("m", "A", modality=modality, date_start=d, date_end=d, date_precision="day")]
    mentions, articles = frames(rows, {"A": {"published_at": published_at}})
    return mentions, articles.with_columns(pl.lit(collected_at, dtype=pl.Date).alias("collected_at"))


def test_asserted_events_after_publication_or_collection_are_refused():
    import datetime as dt

    from pipeline.dedup.core import build_events
    from pipeline.validate.checks import asserted_not_after_publication

    mentions, articles = _dated_tables("2025-03-01", collected_at=dt.date(2023, 7, 8))
    # As extracted, the mention is dated after the collection date: a built event would be too.
    as_extracted = build_events(
        mentions, articles.with_columns(pl.lit(None, dtype=pl.Date).alias("collected_at")), None
    )
    refused = asserted_not_after_publication(as_extracted.events, as_extracted.mentions, articles)
    assert not refused.passed
    assert refused.metadata["asserted_mentions_after_publication"] == 1
    assert refused.metadata["asserted_events_after_publication"] == 1
    # Deduplication bounds asserted acts by their article: precision unknown, ending at collection.
    built = build_events(mentions, articles, None)
    assert built.mentions.select("date_start", "date_end", "date_precision").row(0) == (
        None,
        dt.date(2023, 7, 8),
        "unknown",
    )
    assert asserted_not_after_publication(built.events, built.mentions, articles).passed
    # A publication date bounds the same way; a planned event may lie after both.
    mentions, articles = _dated_tables("2023-05-02", published_at=dt.date(2023, 5, 1))
    built = build_events(mentions, articles, None)
    assert built.events["date_end"].to_list() == [dt.date(2023, 5, 1)]
    mentions, articles = _dated_tables("2030-01-01", collected_at=dt.date(2023, 7, 8), modality="planned")
    built = build_events(mentions, articles, None)
    assert built.events["date_start"].to_list() == [dt.date(2030, 1, 1)]
    assert asserted_not_after_publication(built.events, built.mentions, articles).passed


def test_large_undated_events_are_a_warning_not_a_block():
    from pipeline.checks import TABLE_CHECKS
    from pipeline.validate.checks import LARGE_EVENT_ARTICLES, large_events_dated

    events = pl.DataFrame(
        {
            "event_id": ["E1", "E2", "E3"],
            "n_articles": [LARGE_EVENT_ARTICLES + 1, LARGE_EVENT_ARTICLES + 5, LARGE_EVENT_ARTICLES],
            "date_precision": ["unknown", "month", "unknown"],
        }
    )
    flagged = large_events_dated(events)
    assert not flagged.passed and flagged.metadata["undated_events_over_20_articles"] == 1
    assert large_events_dated(events.filter(pl.col("event_id") != "E1")).passed
    (entry,) = [c for c in CHECKS if c.name == "large_events_dated"]
    # Events with every column (the other checks on events read theirs), three of them set.
    full = pl.concat([empty_frame(Event), events], how="diagonal_relaxed")
    tables = {"events": full, "mentions": empty_frame(Mention), "articles": pl.DataFrame({"article_id": []})}
    outcome = run_checks(tables, {"events"})["large_events_dated"]
    assert not entry.blocking and not outcome.blocking and not outcome.passed
    (definition,) = [d for d in TABLE_CHECKS if d.check_specs and next(iter(d.check_specs)).name == entry.name]
    assert next(iter(definition.check_specs)).blocking is False
