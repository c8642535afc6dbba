"""Clustering rules of deduplication (codebook section 5): unit and property tests."""

from __future__ import annotations

import datetime as dt
import io
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.dedup.core import build_events
from schemas.codebook import load_codebook
from schemas.models import Event, Mention
from tests.synthetic import day, frames, mention_row

CB = load_codebook()


def row(key, article="A", **kw):
    r = mention_row(key, article, **kw)
    r["__key"] = key
    return r


def strip(rows):
    return [{k: v for k, v in r.items() if k != "__key"} for r in rows]


def g(rows, articles=None, validate=True):
    mentions_rows = strip(rows)
    mentions, arts = frames(mentions_rows, articles)
    result = build_events(mentions, arts, None)
    if validate:  # pandera costs more than the deduplication of a few rows; skipped in property loops
        Event.validate(result.events)
        Mention.validate(result.mentions)
    label = {r["mention_id"]: r["__key"] for r in rows}
    by_event: dict[str, set[str]] = {}
    for mid, eid in result.mentions.select("mention_id", "event_id").iter_rows():
        by_event.setdefault(eid, set()).add(label[mid])
    return {frozenset(v) for v in by_event.values()}


STORY = (
    "Kazakhstan has removed the Taliban movement from its list of banned terrorist organizations, the "
    "foreign ministry spokesman Aibek Smadiyarov said on Friday, citing the prosecutor general."
)
# One day, as a date both mentions state: overlapping known dates tie mentions to one occurrence.
ON_DAY = dict(date_start=day("2024-01-10"), date_end=day("2024-01-10"), date_precision="day", date_basis="explicit")


def test_same_event_across_articles_merges_with_evidence_only():
    rows = [
        row("w", "A", date_start=day("2023-12-23"), date_end=day("2023-12-29"), date_precision="week"),
        row("open", "B", date_start=day("2021-08-15")),
    ]
    # Issue 16: an undated mention overlaps everything, so overlap alone is no evidence.
    assert g(rows) == {frozenset({"w"}), frozenset({"open"})}
    # Articles that tell the same story are.
    told = {"A": {"text": STORY}, "B": {"text": STORY.replace("on Friday", "this week")}}
    assert g(rows, told) == {frozenset({"w", "open"})}
    # So are known dates of day, week or month precision that overlap.
    rows[1].update(date_start=day("2023-12-01"), date_end=day("2023-12-31"), date_precision="month")
    assert g(rows) == {frozenset({"w", "open"})}
    # A year is not: a dyad can have several such events in one year.
    rows[1].update(date_start=day("2023-01-01"), date_end=day("2023-12-31"), date_precision="year")
    assert g(rows) == {frozenset({"w"}), frozenset({"open"})}


def test_undated_mentions_of_one_article_are_one_event_but_years_apart_never():
    rows = [row("a", "A"), row("b", "A", sentence_index=4), row("c", "B")]
    assert g(rows) == {frozenset({"a", "b"}), frozenset({"c"})}
    # The same story told in articles published two years apart is not tied by its text.
    told = {
        "A": {"text": STORY, "published_at": day("2022-01-10")},
        "B": {"text": STORY, "published_at": day("2024-01-10")},
    }
    assert g(rows, told) == {frozenset({"a", "b"}), frozenset({"c"})}
    told["B"]["published_at"] = day("2022-01-12")
    assert g(rows, told) == {frozenset({"a", "b", "c"})}
    # Known dates years apart never overlap, whatever the text.
    dated = [
        row("y1", "A", date_start=day("2019-03-01"), date_end=day("2019-03-31"), date_precision="month"),
        row("y2", "B", date_start=day("2021-03-01"), date_end=day("2021-03-31"), date_precision="month"),
    ]
    assert g(dated, {"A": {"text": STORY}, "B": {"text": STORY}}) == {frozenset({"y1"}), frozenset({"y2"})}


def test_shared_participants_venue_or_date_phrase_add_to_the_text_evidence(monkeypatch):
    from pipeline.dedup import cluster

    a = STORY + " Officials in Astana described the step as technical and overdue for the region."
    b = (
        "The Taliban movement is off the banned list of Kazakhstan, the prosecutor general said, while "
        "traders in Almaty welcomed news that could ease payments for exporters and shipping firms."
    )
    told = {"A": {"text": a}, "B": {"text": b}}
    sim = float(cluster.ArticleVectors({"A": a, "B": b}).similarity_matrix(["A", "B"])[0][1])
    assert 0.1 < sim < 0.9, sim
    # The text alone falls 0.25 short; each shared kind of evidence adds BONUS = 0.1. (The rows
    # are a delisting, a state change, which links at THRESHOLD_STATE_CHANGE.)
    monkeypatch.setattr(cluster, "THRESHOLD", sim + 0.25)
    monkeypatch.setattr(cluster, "THRESHOLD_STATE_CHANGE", sim + 0.25)
    monkeypatch.setattr(cluster, "BONUS", 0.1)
    assert g([row("a", "A"), row("b", "B")], told) == {frozenset({"a"}), frozenset({"b"})}
    shared = dict(actor_person="Aibek Smadiyarov", location_name="Astana", date_text="on 29 December 2023")
    assert g([row("a", "A", **shared), row("b", "B", **shared)], told) == {frozenset({"a", "b"})}
    two = dict(actor_person="Aibek Smadiyarov", location_name="Astana")
    assert g([row("a", "A", **two), row("b", "B", **two)], told) == {frozenset({"a"}), frozenset({"b"})}
    # "on Friday" fits any week: not a specific date phrase, so it adds nothing.
    weekday = dict(two, date_text="on Friday")
    assert g([row("a", "A", **weekday), row("b", "B", **weekday)], told) == {frozenset({"a"}), frozenset({"b"})}


def test_articles_published_days_apart_link_at_a_lower_threshold(monkeypatch):
    """Time is evidence too: two articles published within PUBLISHED_CLOSE_DAYS that tell a story
    alike enough for THRESHOLD_CLOSE are one event; the same texts without publication dates, or
    published weeks apart, are not (they need THRESHOLD)."""
    from pipeline.dedup import cluster

    a = STORY + " Officials in Astana described the step as technical and overdue for the region."
    b = (
        "The Taliban movement is off the banned list of Kazakhstan, the prosecutor general said, while "
        "traders in Almaty welcomed news that could ease payments for exporters and shipping firms."
    )
    sim = float(cluster.ArticleVectors({"A": a, "B": b}).similarity_matrix(["A", "B"])[0][1])
    monkeypatch.setattr(cluster, "THRESHOLD", sim + 0.05)
    monkeypatch.setattr(cluster, "THRESHOLD_CLOSE", sim - 0.05)
    rows = [row("a", "A"), row("b", "B")]
    assert g(rows, {"A": {"text": a}, "B": {"text": b}}) == {frozenset({"a"}), frozenset({"b"})}
    near = {"A": {"text": a, "published_at": day("2024-01-10")}, "B": {"text": b, "published_at": day("2024-01-13")}}
    assert g(rows, near) == {frozenset({"a", "b"})}
    weeks = {"A": {"text": a, "published_at": day("2024-01-10")}, "B": {"text": b, "published_at": day("2024-01-30")}}
    assert g(rows, weeks) == {frozenset({"a"}), frozenset({"b"})}


def test_symmetric_types_ignore_direction_asymmetric_do_not():
    sym = [
        row("ab", "A", event_type="meet", **ON_DAY),
        row(
            "ba",
            "B",
            **ON_DAY,
            event_type="meet",
            actor_country="AFG",
            actor_name="Taliban",
            target_country="KAZ",
            target_name="Kazakhstan",
        ),
    ]
    assert g(sym) == {frozenset({"ab", "ba"})}
    asym = [dict(r, event_type="visit") for r in sym]
    assert g(asym) == {frozenset({"ab"}), frozenset({"ba"})}


def test_name_variants_resolve_when_no_country():
    rows = [
        row("a", "A", target_country=None, target_name="The Taliban", **ON_DAY),
        row("b", "B", target_country=None, target_name="taliban", **ON_DAY),
        row("c", "C", target_country="IGO", target_name="UN Security Council", **ON_DAY),
    ]
    assert g(rows) == {frozenset({"a", "b"}), frozenset({"c"})}


def test_modality_must_agree():
    # Codebook section 6: the plan and the later event are different events, even in one article.
    assert g([row("a", "A", **ON_DAY), row("p", "B", modality="planned", **ON_DAY)]) == {
        frozenset({"a"}),
        frozenset({"p"}),
    }
    assert g([row("a", "A"), row("p", "A", modality="planned", sentence_index=2)]) == {
        frozenset({"a"}),
        frozenset({"p"}),
    }
    assert g([row("a", "A", **ON_DAY), row("d", "B", modality="denied", **ON_DAY)]) == {
        frozenset({"a"}),
        frozenset({"d"}),
    }
    assert g([row("d1", "A", modality="denied", **ON_DAY), row("d2", "B", modality="denied", **ON_DAY)]) == {
        frozenset({"d1", "d2"})
    }
    assert g([row("a", "A", **ON_DAY), row("h", "B", modality="hypothetical", **ON_DAY)]) == {
        frozenset({"a"}),
        frozenset({"h"}),
    }


def test_no_chaining_through_planned():
    # asserted~planned and planned~hypothetical, but asserted and hypothetical may not share an event.
    rows = [row("a", "A"), row("p", "B", modality="planned"), row("h", "C", modality="hypothetical")]
    out = g(rows)
    assert not any({"a", "h"} <= cluster for cluster in out)
    assert sum(len(c) for c in out) == 3


def test_conflicting_day_dates_never_merge_even_through_an_open_mention():
    rows = [
        row("d1", "A", date_start=day("2024-01-01"), date_end=day("2024-01-01"), date_precision="day"),
        row("d2", "B", date_start=day("2024-01-05"), date_end=day("2024-01-05"), date_precision="day"),
        row("open", "C"),
    ]
    out = g(rows)
    assert not any({"d1", "d2"} <= c for c in out)
    assert len(out) == 2


def test_retrospective_mention_joins_only_a_compatible_original():
    original = row("orig", "A", date_start=day("2023-04-10"), date_end=day("2023-04-10"), date_precision="day")
    inside = row(
        "retro",
        "B",
        date_start=day("2023-04-01"),
        date_end=day("2023-04-30"),
        date_precision="month",
        date_basis="explicit",
        date_text="In April 2023",
    )
    outside = row("later", "C", date_start=day("2023-06-01"), date_end=day("2023-06-30"), date_precision="month")
    assert g([original, inside, outside]) == {frozenset({"orig", "retro"}), frozenset({"later"})}


def test_open_mentions_join_the_story_they_share_vocabulary_with():
    """The dev-set trap: undated reports of the December 2023 delisting overlap both the December
    cluster and a retrospective June 2024 mention in an article about credentials."""
    december = (
        "Kazakhstan has omitted the Afghan Taliban movement from its list of designated terrorist "
        "organizations, the Foreign Ministry spokesman said in an interview on Friday. The decision "
        "follows a proposal by the prosecutor general."
    )
    credentials = (
        "Kazakhstan has accepted the credentials of the Taliban-appointed charge d'affaires. Two months "
        "ago, Kazakhstan removed the Taliban from its terrorist list. The ambassador presented letters."
    )
    undated1 = (
        "Kazakhstan excluded the Taliban movement from its list of terrorist organizations, the Foreign "
        "Ministry spokesman said; the prosecutor general proposed the decision."
    )
    undated2 = (
        "The Foreign Ministry spokesman said in an interview that the Taliban movement is no longer on "
        "the list of designated terrorist organizations, following the prosecutor general."
    )
    rows = [
        row(
            "dec",
            "dec",
            date_start=day("2023-12-23"),
            date_end=day("2023-12-29"),
            date_precision="week",
            date_basis="publication",
        ),
        row(
            "jun",
            "cred",
            date_start=day("2024-06-01"),
            date_end=day("2024-06-30"),
            date_precision="month",
            date_basis="relative",
            date_text="Two months ago",
        ),
        row("u1", "u1", date_start=day("2021-08-15"), date_basis="none"),
        row("u2", "u2", date_start=day("2021-08-15"), date_basis="none"),
    ]
    articles = {
        "dec": {"text": december, "published_at": day("2023-12-29")},
        "cred": {"text": credentials, "published_at": day("2024-08-21")},
        "u1": {"text": undated1},
        "u2": {"text": undated2},
    }
    assert g(rows, articles) == {frozenset({"dec", "u1", "u2"}), frozenset({"jun"})}
    # The outcome must not depend on input row order.
    assert g(list(reversed(rows)), articles) == {frozenset({"dec", "u1", "u2"}), frozenset({"jun"})}
    # Vocabulary outranks date fit: with a vaguer December mention (a month) and a sharper
    # retrospective one (a week), the undated reports still go with the December story.
    rows[0].update(date_start=day("2023-12-01"), date_end=day("2023-12-31"), date_precision="month")
    rows[1].update(date_start=day("2024-06-10"), date_end=day("2024-06-16"), date_precision="week")
    assert g(rows, articles) == {frozenset({"dec", "u1", "u2"}), frozenset({"jun"})}


def test_same_article_is_preferred():
    rows = [
        row("m1", "A", date_start=day("2024-01-01"), date_end=day("2024-01-31"), date_precision="month"),
        row("m2", "B", date_start=day("2024-03-01"), date_end=day("2024-03-31"), date_precision="month"),
        row("open", "B"),
    ]
    assert g(rows) == {frozenset({"m1"}), frozenset({"m2", "open"})}


# --- property tests -------------------------------------------------------------------------

DATES = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(0, 60, 3)]


@st.composite
def mention_sets(draw):
    n = draw(st.integers(1, 14))
    rows = []
    for i in range(n):
        kind = draw(st.sampled_from(["day", "range", "open_start", "open_end", "undated"]))
        a = draw(st.sampled_from(DATES))
        b = draw(st.sampled_from([d for d in DATES if d >= a]))
        start, end, precision = {
            "day": (a, a, "day"),
            "range": (a, b, "month"),
            "open_start": (None, b, "unknown"),
            "open_end": (a, None, "unknown"),
            "undated": (None, None, "unknown"),
        }[kind]
        flip = draw(st.booleans())
        rows.append(
            row(
                f"k{i}",
                draw(st.sampled_from("ABCD")),
                event_type=draw(st.sampled_from(["meet", "visit"])),
                modality=draw(st.sampled_from(CB.modalities)),
                actor_country="AFG" if flip else "KAZ",
                target_country="KAZ" if flip else "AFG",
                date_start=start,
                date_end=end,
                date_precision=precision,
                confidence=draw(st.floats(0.1, 1.0)),
                sentence_index=i,
            )
        )
    return rows


def linked(x: dict, y: dict) -> bool:
    """Compatible and with evidence that needs no text: one article, or both dated to day, week or
    month (the property corpus has no texts, people, venues or date phrases)."""
    dated = ("day", "week", "month")
    evidence = x["article_id"] == y["article_id"] or (x["date_precision"] in dated and y["date_precision"] in dated)
    return compatible(x, y) and evidence


def compatible(x: dict, y: dict) -> bool:
    lo = max(x["date_start"] or dt.date.min, y["date_start"] or dt.date.min)
    hi = min(x["date_end"] or dt.date.max, y["date_end"] or dt.date.max)
    same_actors = (x["actor_country"], x["target_country"]) == (y["actor_country"], y["target_country"]) or (
        CB.is_symmetric(x["event_type"])
        and (x["actor_country"], x["target_country"]) == (y["target_country"], y["actor_country"])
    )
    day_conflict = (x["date_precision"] == y["date_precision"] == "day") and x["date_start"] != y["date_start"]
    return (
        x["event_type"] == y["event_type"]
        and same_actors
        and lo <= hi
        and not day_conflict
        and CB.modalities_compatible(x["modality"], y["modality"])
    )


@settings(max_examples=120, deadline=None)
@given(mention_sets())
def test_every_event_is_pairwise_compatible_and_singletons_are_not_mergeable(rows):
    out = g(rows, validate=False)
    by_key = {r["__key"]: r for r in rows}
    assert sorted(k for c in out for k in c) == sorted(by_key)
    for cluster in out:
        for x, y in itertools.combinations(sorted(cluster), 2):
            assert compatible(by_key[x], by_key[y]), (x, y)
    # Greedy is not a partition optimum, but a mention left alone had no compatible cluster it had
    # evidence for when it was placed; so two such singleton events would be a missed merge.
    singles = [next(iter(c)) for c in out if len(c) == 1]
    for x, y in itertools.combinations(singles, 2):
        assert not linked(by_key[x], by_key[y]), (x, y)


@settings(max_examples=40, deadline=None)
@given(mention_sets(), st.randoms(use_true_random=False))
def test_output_is_byte_identical_whatever_the_row_order(rows, rnd):
    mentions, arts = frames(strip(rows))
    shuffled = mentions.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 2**31))
    a = build_events(mentions, arts, None)
    b = build_events(shuffled, arts.reverse(), None)
    assert a.events.equals(b.events) and a.mentions.equals(b.mentions)
    assert a.registry.equals(b.registry)
    assert a.events["event_id"].is_sorted() and a.mentions["mention_id"].is_sorted()
    assert a.registry["mention_id"].is_sorted()
    assert parquet_bytes(a.events) == parquet_bytes(b.events)
    assert parquet_bytes(a.mentions) == parquet_bytes(b.mentions)


def parquet_bytes(df) -> bytes:
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd", statistics=True)
    return buf.getvalue()


def test_different_named_people_on_one_side_are_different_events():
    # The named people tell them apart; a spelling variant of one person does not.
    # Two meetings of one day between officials of the same two countries.
    meet = dict(ON_DAY, event_type="meet")
    rows = [
        row("envoy1", "A", target_person="Sergei Lavrov", **meet),
        row("envoy1b", "B", target_person="Sergey Lavrov", **meet),
        row("other", "C", target_person="Maria Zakharova", **meet),
    ]
    assert g(rows) == {frozenset({"envoy1", "envoy1b"}), frozenset({"other"})}


def test_a_person_on_the_mirrored_side_of_a_symmetric_pair_is_aligned():
    meet = dict(ON_DAY, event_type="meet")
    rows = [
        row("ab", "A", target_person="Wang Yi", **meet),
        row(
            "ba",
            "B",
            actor_country="AFG",
            actor_name="Taliban",
            target_country="KAZ",
            target_name="Kazakhstan",
            actor_person="Wang Yi",
            **meet,
        ),
        row(
            "ba_other",
            "C",
            actor_country="AFG",
            actor_name="Taliban",
            target_country="KAZ",
            target_name="Kazakhstan",
            actor_person="Wang Wenbin",
            **meet,
        ),
    ]
    assert g(rows) == {frozenset({"ab", "ba"}), frozenset({"ba_other"})}


def test_unresolved_phrases_naming_different_months_or_days_are_different_events():
    # One article lists two calls: "in January" and "in April", years unknown (no publication date).
    call = dict(event_type="phone_call", date_precision="unknown", date_basis="explicit")
    rows = [
        row("jan", "A", date_text="in January", **call),
        row("apr", "A", date_text="in April", sentence_index=3, **call),
        row("plain", "A", sentence_index=5, **call),
    ]
    out = g(rows)
    assert not any({"jan", "apr"} <= c for c in out) and len(out) == 2
    days = [
        row("d8", "A", date_text="On May 8", **call),
        row("d9", "A", date_text="on May 9", sentence_index=2, **call),
        row("d8b", "A", date_text="on 8 May", sentence_index=4, **call),
    ]
    assert g(days) == {frozenset({"d8", "d8b"}), frozenset({"d9"})}


def test_an_undated_act_beside_an_explicitly_dated_one_in_one_article_is_another_event():
    clash = dict(event_type="armed_clash", actor_country="SAU", actor_name="Saudi Arabia")
    dated = dict(date_start=day("2015-03-01"), date_end=day("2015-03-31"), date_precision="month")
    rows = [
        row("invasion", "A", date_basis="explicit", date_text="in March 2015", **dated, **clash),
        row("attack", "A", sentence_index=6, **clash),
    ]
    assert g(rows) == {frozenset({"invasion"}), frozenset({"attack"})}
    # Nor does the article's own text: it is alike to itself, and that says nothing.
    assert g(rows, {"A": {"text": STORY}}) == {frozenset({"invasion"}), frozenset({"attack"})}
    # A date from the publication (news of the day) is no such retrospective date: one article, one event.
    rows = [
        row("lead", "A", date_basis="publication", **{**dated, **clash, "date_precision": "week"}),
        row("body", "A", sentence_index=6, **clash),
    ]
    assert g(rows) == {frozenset({"lead", "body"})}


def test_a_row_with_an_unmerged_overlapping_sibling_is_less_confident():
    """Two rows of one type, pair and modality whose dates overlap but that no evidence tied (two
    articles, undated, unlike texts) keep DUPLICATE_RISK of their confidence; a row of another pair,
    or of the same pair on a date that rules the other out, keeps it whole."""
    from pipeline.dedup.settle import DUPLICATE_RISK

    rows = [
        row("a", "A", confidence=0.9),
        row("b", "B", confidence=0.9),
        row("c", "C", confidence=0.9, target_country="UZB", target_name="Uzbekistan"),
    ]
    mentions, arts = frames(strip(rows), None)
    events = build_events(mentions, arts, None).events
    conf = dict(zip(events["target_country"], events["confidence"], strict=False))
    assert sorted(events["confidence"].to_list()) == [round(0.9 * DUPLICATE_RISK, 6)] * 2 + [0.9]
    assert conf["UZB"] == 0.9
    dated = [
        row("d1", "A", confidence=0.9, **ON_DAY),
        row("d2", "B", confidence=0.9, date_start=day("2024-02-01"), date_end=day("2024-02-01"), date_precision="day"),
    ]
    mentions, arts = frames(strip(dated), None)
    assert build_events(mentions, arts, None).events["confidence"].to_list() == [0.9, 0.9]
