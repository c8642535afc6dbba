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
        assert (spec.name, spec.asset_key.to_user_string(), spec.blocking) == (check.name, check.table, True)
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
