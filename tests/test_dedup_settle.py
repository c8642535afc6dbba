"""Settling a cluster into one event row: dates, names, modality, sources, confidence, conflicts."""

from __future__ import annotations

import pytest

from pipeline.dedup.core import build_events
from schemas.models import Event
from tests.synthetic import day, frames, mention_row

STORY = (
    "Kazakhstan has removed the Taliban movement from its list of banned terrorist organizations, the "
    "foreign ministry said on Friday, citing a proposal of the prosecutor general office."
)


# One day as a date every mention states: certain evidence of one occurrence (issue 16), so these
# tests about settling are not about linking. Before every article's publication date below.
ON_DAY = dict(date_start=day("2022-12-30"), date_end=day("2022-12-30"), date_precision="day", date_basis="explicit")
TOLD = {k: {"text": STORY + f" ({k})"} for k in "ABC"}


def one_event(rows, articles=None):
    mentions, arts = frames(rows, articles)
    result = build_events(mentions, arts, None)
    Event.validate(result.events)
    assert result.events.height == 1, result.events
    return result.events.row(0, named=True)


def test_interval_is_the_intersection_and_precision_comes_from_the_narrowest_mention():
    ev = one_event(
        [
            mention_row(
                "week",
                "A",
                date_start=day("2023-12-23"),
                date_end=day("2023-12-29"),
                date_precision="week",
                date_basis="publication",
            ),
            mention_row(
                "month",
                "B",
                date_start=day("2023-12-01"),
                date_end=day("2023-12-31"),
                date_precision="month",
                date_basis="relative",
            ),
            mention_row("open", "C", date_start=day("2021-08-15")),
        ],
        TOLD,  # the undated one is tied by its article's text
    )
    assert (ev["date_start"], ev["date_end"]) == (day("2023-12-23"), day("2023-12-29"))
    assert (ev["date_precision"], ev["date_basis"]) == ("week", "publication")
    assert ev["n_mentions"] == 3 and ev["n_articles"] == 3
    assert ev["n_sources"] is None  # no article names its outlet
    assert ev["summary"] == (
        "Kazakhstan (KAZ, GOV) delist_organization Taliban (AFG, GOV), 2023-12-23..2023-12-29, asserted, "
        "3 articles, outlet unknown"
    )


def test_undated_event_keeps_open_bounds():
    ev = one_event([mention_row("a", "A"), mention_row("b", "B")], TOLD)
    assert ev["date_start"] is None and ev["date_end"] is None and ev["date_precision"] == "unknown"
    assert ", undated, " in ev["summary"]


def test_a_plan_and_the_act_are_two_events():
    mentions, arts = frames(
        [mention_row("p", "A", modality="planned", **ON_DAY), mention_row("a", "B", modality="asserted", **ON_DAY)]
    )
    events = build_events(mentions, arts, None).events
    assert sorted(events["modality"].to_list()) == ["asserted", "planned"]
    assert not events["has_conflict"].any()


def test_majority_name_and_sector_conflict():
    ev = one_event(
        [
            mention_row("a", "A", actor_name="Kazakhstan", actor_sector="GOV", **ON_DAY),
            mention_row("b", "B", actor_name="Supreme Court of Kazakhstan", actor_sector="JUD", **ON_DAY),
            mention_row("c", "C", actor_name="Kazakhstan", actor_sector="GOV", **ON_DAY),
        ]
    )
    assert ev["actor_name"] == "Kazakhstan"  # two mentions against one: a minority name never wins
    assert ev["actor_sector"] == "GOV"  # the most frequent
    assert ev["conflict_fields"] == ["actor_sector"]
    # A tie goes to the most specific name.
    tie = one_event(
        [
            mention_row("a", "A", actor_name="Kazakhstan", **ON_DAY),
            mention_row("b", "B", actor_name="Supreme Court of Kazakhstan", **ON_DAY),
        ]
    )
    assert tie["actor_name"] == "Supreme Court of Kazakhstan"


def test_the_venue_most_mentions_name():
    ev = one_event(
        [
            mention_row("a", "A", location_name="Astana", location_country="KAZ", **ON_DAY),
            mention_row("b", "B", location_name="Astana", location_country="KAZ", **ON_DAY),
            mention_row("c", "C", location_name="Kabul", location_country="AFG", **ON_DAY),
        ]
    )
    assert (ev["location_name"], ev["location_country"]) == ("Astana", "KAZ")
    assert one_event([mention_row("a", "A", **ON_DAY)])["location_name"] is None


def test_symmetric_event_is_oriented_by_actor_key():
    ev = one_event(
        [
            mention_row(
                "x",
                "A",
                event_type="meet",
                actor_name="Taliban",
                actor_country="AFG",
                actor_sector="GOV",
                target_name="Kazakhstan",
                target_country="KAZ",
                target_sector="GOV",
                **ON_DAY,
            ),
            mention_row("y", "B", event_type="meet", **ON_DAY),
        ]
    )
    assert (ev["actor_country"], ev["target_country"]) == ("AFG", "KAZ")
    assert (ev["cameo_code"], ev["plover_type"], ev["quad_class"]) == ("040", "CONSULT", 1)


def test_sources_count_outlets_unknown_texts_and_syndication_once():
    rows = [mention_row(k, k, **ON_DAY) for k in ["t1", "t2", "copy", "u1", "u2"]]
    articles = {
        "t1": {"outlet": "TOLOnews", "text": STORY + " One.", "published_at": day("2023-12-29")},
        "t2": {
            "outlet": "TOLOnews",
            "text": "A different write-up of the decision by the same outlet.",
            "published_at": day("2023-12-30"),
        },
        "copy": {"outlet": None, "text": STORY + " Two."},  # syndicated copy of t1
        "u1": {"outlet": None, "text": "An independent report about Kazakhstan and the list of organizations."},
        "u2": {"outlet": "Kabul Now", "text": "Another outlet reports the removal of the movement."},
    }
    ev = one_event(rows, articles)
    assert ev["n_articles"] == 5
    # Known outlets: TOLOnews (with its syndicated copy, and so with the articles of unknown outlet,
    # which are one source together) and Kabul Now.
    assert ev["n_sources"] == 2
    assert ev["outlets"] == ["Kabul Now", "TOLOnews"]
    assert ev["first_published_at"] == day("2023-12-29")


def test_confidence_is_noisy_or_over_sources_of_the_best_mention():
    rows = [
        mention_row("a1", "A", confidence=0.5, **ON_DAY),
        mention_row("a2", "A", confidence=0.6, sentence_index=3, **ON_DAY),
        mention_row("b", "B", confidence=0.5, **ON_DAY),
    ]
    ev = one_event(rows, {"A": {"outlet": "X"}, "B": {"outlet": "Y"}})
    assert ev["confidence"] == pytest.approx(1 - 0.4 * 0.5)
    assert ev["n_sources"] == 2
    single = one_event([mention_row("a", "A", confidence=0.5)])
    assert single["confidence"] == pytest.approx(0.5)
    # Repeats do not corroborate: articles of unknown outlet are one source, so the best mention counts.
    repeats = one_event(rows)
    assert repeats["confidence"] == pytest.approx(0.6) and repeats["n_sources"] is None


def test_quote_is_from_the_most_confident_then_earliest_mention():
    rows = [
        mention_row("late", "L", confidence=0.9, quote="late quote", **ON_DAY),
        mention_row("early", "E", confidence=0.9, quote="early quote", **ON_DAY),
        mention_row("weak", "W", confidence=0.2, quote="weak quote", **ON_DAY),
    ]
    ev = one_event(
        rows,
        {
            "L": {"published_at": day("2024-02-01")},
            "E": {"published_at": day("2024-01-01")},
            "W": {"published_at": day("2023-01-01")},
        },
    )
    assert ev["quote"] == "early quote"


def test_articles_without_text_column_are_accepted():
    mentions, arts = frames([mention_row("a", "A", **ON_DAY), mention_row("b", "B", **ON_DAY)])
    result = build_events(mentions, arts.drop("text"), None)
    Event.validate(result.events)
    assert result.events["n_articles"].to_list() == [2] and result.events["n_sources"].to_list() == [None]


def test_events_without_target_and_mentions_of_unlisted_articles():
    rows = [
        mention_row(
            "a",
            "A",
            event_type="threaten",
            target_name=None,
            target_country=None,
            target_sector=None,
            target_text=None,
            **ON_DAY,
        ),
        mention_row(
            "b",
            "B",
            event_type="threaten",
            target_name=None,
            target_country=None,
            target_sector=None,
            target_text=None,
            **ON_DAY,
        ),
    ]
    mentions, arts = frames(rows)
    result = build_events(mentions, arts.head(1), None)  # article B is unknown to the articles table
    Event.validate(result.events)
    ev = result.events.row(0, named=True)
    assert ev["n_mentions"] == 2 and ev["n_sources"] is None
    assert ev["target_name"] is None and ev["summary"].startswith("Kazakhstan (KAZ, GOV) threaten, ")


def test_empty_input_gives_empty_valid_tables():
    mentions, arts = frames([mention_row("a", "A")])
    first = build_events(mentions, arts, None)
    result = build_events(mentions.clear(), arts.clear(), first.registry)
    Event.validate(result.events)
    assert result.events.height == 0 and result.mentions.height == 0
    assert result.registry["status"].to_list() == ["retired"]


def test_symmetric_event_without_target_keeps_its_actor():
    ev = one_event(
        [
            mention_row(
                "a", "A", event_type="meet", target_name=None, target_country=None, target_sector=None, target_text=None
            )
        ]
    )
    assert ev["actor_name"] == "Kazakhstan" and ev["target_name"] is None
    named = one_event(
        [
            mention_row(
                "b",
                "A",
                event_type="meet",
                actor_name="Taliban",
                actor_country=None,
                target_name=None,
                target_country=None,
                target_sector=None,
                target_text=None,
            )
        ]
    )
    assert named["actor_name"] == "Taliban" and named["target_name"] is None


def test_undated_mentions_do_not_narrow_a_dated_event():
    import datetime as dt

    from pipeline.dedup.core import build_events
    from tests.synthetic import frames, mention_row

    week = mention_row(
        "w",
        "A",
        date_start=dt.date(2023, 12, 22),
        date_end=dt.date(2023, 12, 29),
        date_precision="week",
        date_basis="publication",
    )
    after_pub = mention_row(
        "open", "A", date_start=dt.date(2023, 12, 29), date_end=None, date_precision="unknown", date_basis="none"
    )
    mentions, arts = frames([week, after_pub])
    ev = build_events(mentions, arts, None).events
    assert ev.height == 1
    assert (ev["date_start"][0], ev["date_end"][0], ev["date_precision"][0]) == (
        dt.date(2023, 12, 22),
        dt.date(2023, 12, 29),
        "week",
    )
