"""Stable event ids across rebuilds, the registry, lineage (merged / split) and the change log."""

from __future__ import annotations

import polars as pl

from pipeline.dedup.core import build_events
from pipeline.dedup.ids import REGISTRY_SCHEMA, new_event_id
from pipeline.release.changelog import build_changes, render_changelog_md
from schemas.models import Change, Event
from tests.synthetic import day, frames, mention_row


def build(rows, registry=None, articles=None):
    mentions, arts = frames(rows, articles)
    result = build_events(mentions, arts, registry)
    Event.validate(result.events)
    return result


def event_of(result, key) -> str:
    mid = mention_row(key)["mention_id"]
    return result.mentions.filter(pl.col("mention_id") == mid)["event_id"].item()


# Dated to a month: reports of the delisting in two articles are one event by their dates (issue 16:
# undated mentions of different articles need evidence).
DELIST = dict(
    event_type="delist_organization", date_start=day("2023-12-01"), date_end=day("2023-12-31"), date_precision="month"
)
MEET = dict(event_type="meet", date_start=day("2024-03-05"), date_end=day("2024-03-05"), date_precision="day")
VISIT = dict(event_type="visit", date_start=day("2024-05-01"), date_end=day("2024-05-31"), date_precision="month")


def test_ids_survive_a_rebuild_that_adds_and_removes_articles():
    first = build([mention_row("d1", "A", **DELIST), mention_row("m1", "A", **MEET), mention_row("v1", "B", **VISIT)])
    ids = {k: event_of(first, k) for k in ["d1", "m1", "v1"]}
    assert all(i.startswith("E") and len(i) == 13 for i in ids.values())
    # Article B goes away, C reports the delisting again, D reports a new event.
    second = build(
        [
            mention_row("d1", "A", **DELIST),
            mention_row("m1", "A", **MEET),
            mention_row("d2", "C", **DELIST),
            mention_row("x", "D", event_type="threaten"),
        ],
        registry=first.registry,
    )
    assert event_of(second, "d1") == event_of(second, "d2") == ids["d1"]
    assert event_of(second, "m1") == ids["m1"]
    assert ids["v1"] not in second.events["event_id"].to_list()
    assert second.lineage.height == 0
    registry = second.registry
    assert registry.schema == pl.Schema(REGISTRY_SCHEMA)
    retired = registry.filter(pl.col("status") == "retired")
    assert retired["event_id"].to_list() == [ids["v1"]]

    changes = build_changes(first.events, second.events, second.lineage)
    Change.validate(changes)
    kinds = {(r["change_type"], r["event_id"]) for r in changes.iter_rows(named=True)}
    assert ("removed", ids["v1"]) in kinds
    assert ("added", event_of(second, "x")) in kinds
    updated = changes.filter(pl.col("event_id") == ids["d1"]).row(0, named=True)
    assert updated["change_type"] == "updated"
    # n_sources stays null: no article names its outlet.
    assert {"n_mentions", "n_articles", "article_ids", "mention_ids"} <= set(updated["fields"])
    assert ("updated", ids["m1"]) not in kinds  # unchanged events are not listed

    # Article B comes back: its event gets its old id back from the retired registry rows.
    third = build([mention_row("d1", "A", **DELIST), mention_row("v1", "B", **VISIT)], registry=second.registry)
    assert event_of(third, "v1") == ids["v1"]


def test_new_ids_derive_from_the_founding_mention():
    first = build([mention_row("a", "A"), mention_row("b", "A", date_start=day("2020-01-01"), sentence_index=2)])
    founder = mention_row("b")["mention_id"]  # narrower interval: founds the cluster
    assert first.events["event_id"].to_list() == [new_event_id(founder)]


def test_merge_keeps_the_majority_id_and_is_recorded():
    # Build 1: two reports of a meeting on 5 March and one dated 7 March: conflicting days, two events.
    first = build(
        [
            mention_row("p1", "A", **MEET),
            mention_row("p2", "B", **MEET),
            mention_row("q1", "C", **dict(MEET, date_start=day("2024-03-07"), date_end=day("2024-03-07"))),
        ]
    )
    big, small = event_of(first, "p1"), event_of(first, "q1")
    assert big != small
    # Build 2: the extractor now dates q1 by the week; it is compatible with the p-cluster and merges.
    second = build(
        [
            mention_row("p1", "A", **MEET),
            mention_row("p2", "B", **MEET),
            mention_row(
                "q1", "C", **dict(MEET, date_start=day("2024-03-04"), date_end=day("2024-03-10"), date_precision="week")
            ),
        ],
        registry=first.registry,
    )
    assert second.events["event_id"].to_list() == [big]
    lin = second.lineage.row(0, named=True)
    assert (lin["change_type"], lin["event_id"], lin["related_event_ids"]) == ("merged", big, [small])
    changes = build_changes(first.events, second.events, second.lineage)
    Change.validate(changes)
    assert changes["change_type"].to_list() == ["merged"]  # the folded id is not also "removed"
    assert changes["related_event_ids"].to_list() == [[small]]


def test_split_keeps_the_id_with_the_majority_and_names_the_parent():
    open_meet = dict(MEET, date_start=None, date_end=None, date_precision="unknown")
    story = "Kazakh and Taliban officials met in Astana to discuss trade, transit and the railway corridor."
    told = {k: {"text": f"{story} ({k})"} for k in "ABC"}  # undated: tied by telling one story
    first = build(
        [mention_row("a1", "A", **open_meet), mention_row("a2", "B", **open_meet), mention_row("b1", "C", **open_meet)],
        articles=told,
    )
    (only,) = first.events["event_id"].to_list()
    # The rebuild dates them on two different days: they can no longer be one event.
    second = build(
        [
            mention_row("a1", "A", **MEET),
            mention_row("a2", "B", **MEET),
            mention_row("b1", "C", **dict(MEET, date_start=day("2024-03-09"), date_end=day("2024-03-09"))),
        ],
        registry=first.registry,
        articles=told,
    )
    assert event_of(second, "a1") == event_of(second, "a2") == only
    other = event_of(second, "b1")
    assert other != only
    assert second.lineage.rows(named=True) == [
        {"change_type": "split", "event_id": other, "related_event_ids": [only], "n_mentions": 1}
    ]
    changes = build_changes(first.events, second.events, second.lineage)
    assert {(r["change_type"], r["event_id"]) for r in changes.iter_rows(named=True)} == {
        ("updated", only),
        ("split", other),
    }


def test_changelog_markdown_and_first_release():
    first = build([mention_row("a", "A"), mention_row("m", "B", **MEET)])
    changes = build_changes(None, first.events, first.lineage)
    Change.validate(changes)
    assert changes["change_type"].to_list() == ["added", "added"]
    md = render_changelog_md(changes, "2026.01.02", None)
    assert md.startswith("# Changes in 2026.01.02\n")
    assert "| added | 2 |" in md and "## Added (2)" in md
    for eid in first.events["event_id"].to_list():
        assert f"`{eid}`" in md
    same = build_changes(first.events, first.events, first.lineage)
    assert same.height == 0
    assert "No changes." in render_changelog_md(same, "2026.01.03", "2026.01.02")


def test_rebuild_with_its_own_registry_is_a_fixed_point():
    rows = [mention_row("a", "A"), mention_row("b", "B", **MEET), mention_row("c", "C", **VISIT)]
    first = build(rows)
    second = build(rows, registry=first.registry)
    assert second.events.equals(first.events)
    assert second.registry.equals(first.registry)
    assert second.lineage.height == 0


def test_a_taken_fresh_id_takes_the_next_salt_in_founder_order(monkeypatch):
    """The bulk path of new ids falls back to the rule as written when a first id is taken: here
    ids of one hex digit, so that collisions with ids in use and between founders are certain."""
    import hashlib

    from pipeline.dedup import ids

    def tiny(founder: str, salt: int = 0) -> str:
        return "E" + hashlib.sha256(f"{founder}|{salt}".encode()).hexdigest()[:1]

    monkeypatch.setattr(ids, "new_event_id", tiny)
    founders = pl.Series([f"m{i:02d}" for i in range(12)])
    in_use = pl.Series(["E0", "E1", "E0"])
    taken, want = {"E0", "E1"}, []
    for founder in founders:
        salt, candidate = 0, tiny(founder)
        while candidate in taken:
            salt += 1
            candidate = tiny(founder, salt)
        taken.add(candidate)
        want.append(candidate)
    got = ids._fresh_ids(founders, in_use).to_list()
    assert got == want
    assert len(set(got)) == 12 and not set(got) & {"E0", "E1"}
    assert got != [tiny(f) for f in founders]  # the collisions happened
