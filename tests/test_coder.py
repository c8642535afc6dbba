"""The parse-based coder: the model check, the parse arrays and cache, the gate, frames as data,
participants from the grammar, modality from governors, dates from the event's clause.

Sentences are our own, written from the codebook (never development-set text)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.extract import parse as parse_mod
from pipeline.extract.cache import extract_parallel
from pipeline.extract.extractor import ARTICLE_FIELDS, extract_article, find_candidates
from pipeline.extract.frames import _frame, frame_set
from pipeline.extract.parse import PARSE_SCHEMA, ModelMismatch, ParseCache, annotator, parse_texts, sents_from_rows

PUB = dt.date(2024, 3, 6)


def rows(text: str, published_at: dt.date | None = PUB) -> list[dict]:
    return extract_article("a" + "2" * 16, text, None, published_at, None)


def coded(text: str, **kw) -> set[tuple]:
    return {(r["event_type"], r["modality"], r["actor_country"], r["target_country"]) for r in rows(text, **kw)}


# -- the model -------------------------------------------------------------------------------------


def test_the_model_is_checked_when_it_loads(monkeypatch):
    parse_mod.nlp()  # the pinned model loads
    parse_mod.nlp.cache_clear()
    monkeypatch.setattr(parse_mod, "MODEL_VERSION", "9.9.9")
    with pytest.raises(ModelMismatch, match=r"9\.9\.9"):
        parse_mod.nlp()
    monkeypatch.undo()
    parse_mod.nlp.cache_clear()
    assert parse_mod.nlp().meta["version"] == "3.8.0"


def test_lemmas_and_coarse_tags_come_from_the_model_tables():
    ann = annotator()
    assert ann.annotate("ministers", "NNS") == ("NOUN", "minister")
    assert ann.annotate("met", "VBD") == ("VERB", "meet")
    assert ann.annotate("countries", "NNS") == ("NOUN", "country")
    assert ann.annotate("held", "VBN")[1] == "hold"
    assert ann.annotate("are", "VBP") == ("AUX", "be")


def test_parse_rows_round_trip_and_the_cache_keeps_them(tmp_path):
    text = "Chile recalled its ambassador from Peru."
    parsed = parse_texts([text])
    assert parsed.schema == pl.Schema(PARSE_SCHEMA)
    sent = sents_from_rows(parsed, {parsed["key"][0]: text})[parsed["key"][0]]
    assert sent.words[1] == "recalled" and sent.lemmas[1] == "recall" and sent.heads[0] == 1
    cache = ParseCache(tmp_path)
    assert cache.load().is_empty()
    cache.save(parsed)
    assert cache.load().equals(parsed)
    (cache.cache.file(ParseCache.FILE)).write_bytes(b"not parquet")
    assert cache.load().is_empty()  # a damaged cache is rebuilt, never fatal


def test_a_build_reuses_parses_and_codes_the_same(tmp_path, monkeypatch):
    articles = pl.DataFrame(
        {
            "article_id": ["a" + "3" * 16, "a" + "4" * 16],
            "text": ["Chile recalled its ambassador from Peru.", "Ghana and Togo signed a trade agreement."],
            "title": [None, None],
            "published_at": [PUB, PUB],
            "published_after": [None, None],
        },
        schema_overrides={"published_at": pl.Date, "published_after": pl.Date, "title": pl.String},
    ).select(ARTICLE_FIELDS)
    cache = ParseCache(tmp_path)
    first, _ = extract_parallel(articles, 1, cache)
    assert cache.load().height == 2
    calls = []
    monkeypatch.setattr(
        parse_mod, "parse_texts", lambda texts: calls.append(texts) or pl.DataFrame(schema=PARSE_SCHEMA)
    )
    again, _ = extract_parallel(articles, 1, cache)
    assert not calls or calls == [[]]
    assert first.equals(again) and first.height == 2


def test_an_incremental_build_adds_its_parses_beside_the_cache_and_a_whole_build_folds_them_in(tmp_path):
    def frame(ids, texts):
        return pl.DataFrame(
            {
                "article_id": ids,
                "text": texts,
                "title": [None] * len(ids),
                "published_at": [PUB] * len(ids),
                "published_after": [None] * len(ids),
            },
            schema_overrides={"published_at": pl.Date, "published_after": pl.Date, "title": pl.String},
        ).select(ARTICLE_FIELDS)

    first = frame(["a" + "3" * 16], ["Chile recalled its ambassador from Peru."])
    added = frame(["a" + "4" * 16], ["Ghana and Togo signed a trade agreement."])
    cache = ParseCache(tmp_path)
    extract_parallel(first, 1, cache)
    main = cache.cache.file(ParseCache.FILE)
    before = main.stat().st_mtime_ns
    extract_parallel(added, 1, cache, whole=False)
    # The main file is not rewritten; the new sentence's parse is a file of its own.
    assert main.stat().st_mtime_ns == before and cache.stored() == (1, 1)
    assert cache.load().height == 2
    key = cache.load()["key"].sort()
    assert cache.load(key[:1])["key"].to_list() == key[:1].to_list()
    assert cache.load(pl.Series(["no such key"])).is_empty()
    # A whole build keeps exactly its own sentences, in one file.
    extract_parallel(pl.concat([first, added]), 1, cache)
    assert cache.stored() == (2, 0)
    extract_parallel(added, 1, cache)
    assert cache.stored() == (1, 0) and cache.load().height == 1
    # Added files past MAX_ADDED are folded into the main file.
    cache.MAX_ADDED = 1
    extract_parallel(first, 1, cache, whole=False)
    assert cache.stored() == (1, 1)
    extract_parallel(frame(["a" + "5" * 16], ["Chile and Peru signed a trade agreement."]), 1, cache, whole=False)
    assert cache.stored() == (3, 0) and cache.load().height == 3


# -- the gate ----------------------------------------------------------------------------------------


def test_the_gate_needs_a_trigger_its_condition_and_two_sides():
    frame = pl.DataFrame(
        {
            "article_id": ["a" + "5" * 16],
            "text": [
                "The weather in Chile was mild. "  # no trigger
                "Chile accepted the offer of Peru. "  # accept needs 'credentials': not parsed
                "Chile accepted the credentials of the Peruvian ambassador. "  # parsed
                "Chile said nothing. "
                "Chile accepted the credentials of the Peruvian ambassador."  # a repeat: one mention
            ],
        }
    )
    got, skipped = find_candidates(frame)
    assert skipped.is_empty()
    assert got["sentence_index"].to_list() == [2]


# -- frames as data ---------------------------------------------------------------------------------


def test_every_frame_slot_is_known_and_bad_frames_fail_loudly():
    assert frame_set().verbs["meet"]
    with pytest.raises(ValueError, match="unknown keys"):
        _frame("meet", 0, {"verbs": ["meet"], "actor": ["subj"], "target": ["obj"], "triggers": ["x"]})
    with pytest.raises(ValueError, match="bad target slot"):
        _frame("meet", 0, {"verbs": ["meet"], "actor": ["subj"], "target": [True]})  # YAML's bare `on`


# -- participants -------------------------------------------------------------------------------------


def test_a_venue_or_topic_is_never_a_participant_and_the_venue_is_the_location():
    r = [
        x
        for x in rows("The Chilean and Peruvian ministers held talks on Bolivia in Geneva.")
        if x["event_type"] == "meet"
    ]
    assert {(x["actor_country"], x["target_country"]) for x in r} == {("CHL", "PER")}
    assert r[0]["location_name"] == "Geneva"
    assert not [x for x in rows("A conference on Syria was held in Geneva.") if x["event_type"] == "meet"]


def test_coordinated_participants_give_one_row_each():
    got = coded("Chile, Peru and Bolivia closed their embassies in Venezuela.")
    assert {(a, t) for e, m, a, t in got if e == "reduce_relations"} == {("CHL", "VEN"), ("PER", "VEN"), ("BOL", "VEN")}


def test_a_multilateral_meeting_pairs_the_host_with_each_participant():
    got = coded("The foreign ministers of Chile, Peru and Bolivia attended the Quito meeting.")
    pairs = {frozenset((a, t)) for e, m, a, t in got if e == "meet"}
    assert pairs == {frozenset(("ECU", c)) for c in ("CHL", "PER", "BOL")}
    # Two sides are a bilateral meeting, wherever it is held.
    got = coded("The foreign ministers of Chile and Peru held talks in Quito on Monday.")
    assert {frozenset((a, t)) for e, m, a, t in got if e == "meet"} == {frozenset(("CHL", "PER"))}


def test_people_named_with_a_title_and_nationality():
    got = coded("The Chilean foreign minister met his Peruvian counterpart.")
    assert {(e, frozenset((a, t))) for e, m, a, t in got} == {("meet", frozenset(("CHL", "PER")))}
    got = coded("Peruvian Ambassador to Chile Jorge Ramos Villa met the Chilean president.")
    assert any(e == "meet" and {a, t} == {"PER", "CHL"} for e, m, a, t in got)


def test_a_report_s_pronoun_is_its_speaker():
    assert ("express_support", "planned", "HUN", "POL") in coded("Hungary has said it will support Poland.")


def test_hosting_a_visitor_is_a_visit_and_a_meeting_not_praise():
    got = coded("Chile's president welcomed the visiting Peruvian prime minister at the airport.")
    types = {e for e, *_ in got}
    assert "express_support" not in types and "meet" in types
    assert ("visit", "asserted", "PER", "CHL") in got


# -- modality -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "event_type", "modality"),
    [
        ("Chile will sign a trade agreement with Peru.", "sign_agreement", "planned"),
        ("Chile agreed to sign a trade agreement with Peru.", "sign_agreement", "planned"),
        ("Chile cancelled its visit to Peru.", "visit", "denied"),
        ("Chile hopes to sign a trade agreement with Peru.", "sign_agreement", "hypothetical"),
        ("If talks go well, Chile signs a trade agreement with Peru.", "sign_agreement", "hypothetical"),
        ("The upcoming visit of the Chilean president to Peru was announced.", "visit", "planned"),
        ("The Chilean president left Santiago for talks with Peruvian officials.", "meet", "planned"),
        ("Chile signed a deal with Peru to expand trade.", "sign_agreement", "asserted"),
    ],
)
def test_modality_from_auxiliaries_and_governors(sentence, event_type, modality):
    got = {m for e, m, a, t in coded(sentence) if e == event_type}
    assert got == {modality}, coded(sentence)


def test_the_content_of_an_allegation_is_not_an_event():
    assert not [
        r for r in rows("Chile alleged that Peru had attacked its border posts.") if r["event_type"] == "armed_clash"
    ]


def test_a_deal_s_purpose_is_not_an_act():
    got = coded("Chile signed a deal with Peru to restore their diplomatic ties.")
    assert not {m for e, m, *_ in got if e == "cooperate"} - {"hypothetical"}


def test_the_country_refers_back_to_a_party_not_to_a_place():
    got = coded("Chile cut ties with Peru and imposed sanctions on the country.")
    assert ("reduce_relations", "asserted", "CHL", "PER") in got
    assert ("impose_sanctions", "asserted", "CHL", "PER") in got


def test_a_formal_name_is_a_name_and_an_attacker_does_not_attack_itself():
    # "the Republic of X" names X; it is not "the republic" referring back to an earlier state.
    got = coded("Iran is watching the clashes between the Republic of Azerbaijan and the Republic of Armenia.")
    assert {(c[2], c[3]) for c in got if c[0] == "armed_clash"} <= {("AZE", "ARM"), ("ARM", "AZE")}
    assert {c[0] for c in got} >= {"armed_clash"}
    # "the country" that would make the attacker attack itself is the state named before it.
    got = coded("Iran wants to end the war in Yemen, which began when Saudi Arabia launched attacks on the country.")
    assert ("armed_clash", "asserted", "SAU", "YEM") in got and not [c for c in got if c[2] == c[3] == "SAU"]
    # Different entities of one country stay as they are.
    taliban = coded("Afghanistan was in chaos when the Taliban took over the country in August 2021.")
    assert ("seize_power", "asserted", "AFG", "AFG") in taliban


def test_sanctions_named_in_passing_are_a_standing_state_not_an_act():
    # A noun alone names sanctions in force; an act needs a verb that imposes them, or a word that
    # makes them new (codebook.yaml: needs_support, or_modifiers).
    assert not {e for e, *_ in coded("Chile criticized the U.S. sanctions against Peru.")} & {"impose_sanctions"}
    assert ("impose_sanctions", "asserted", "USA", "PER") in coded("The United States imposed sanctions on Peru.")
    assert ("impose_sanctions", "asserted", "USA", "PER") in coded("The United States reimposed sanctions on Peru.")
    fresh = coded("The United States responded with fresh sanctions against Peru.")
    assert ("impose_sanctions", "asserted", "USA", "PER") in fresh
    wave = coded("The United States announced a new round of sanctions against Peru.")
    assert ("impose_sanctions", "asserted", "USA", "PER") in wave
    # Lifting sanctions is the lifting: the support verb's own frame codes it.
    lifted = coded("The United States lifted its sanctions on Peru.")
    assert ("ease_sanctions", "asserted", "USA", "PER") in lifted
    assert "impose_sanctions" not in {e for e, *_ in lifted}


# -- dates ----------------------------------------------------------------------------------------------


def test_the_present_of_reported_speech_is_not_bounded_by_the_publication_bound():
    after = dt.date(2020, 1, 1)

    def starts(text):
        # (after the lead: its acts are dated by the publication fallback)
        text = "Ministers gathered in Lima for the annual forum. It ended late in the evening. " + text
        return {r["date_start"] for r in extract_article("a" + "2" * 16, text, None, None, after)}

    # An act in the present is at or after publication, so after its lower bound...
    assert starts("Chile welcomes the efforts of Peru.") == {after}
    # ...but reported in the past, it is at the time of the report: no lower bound.
    assert starts("The minister said Chile welcomes the efforts of Peru.") == {None}


def test_a_date_of_another_clause_does_not_date_the_act():
    r = [
        x
        for x in rows("In 2019, Chile announced it would appoint an envoy to Peru, since Bolivia had recalled its own.")
        if x["event_type"] == "reduce_relations"
    ]
    assert not r or r[0]["date_precision"] == "unknown"
    a = [
        x
        for x in rows("In 2019, Chile announced it would appoint an envoy to Peru.")
        if x["event_type"] == "appoint_envoy"
    ]
    assert a and a[0]["date_start"].year == 2019


def test_two_acts_of_one_pair_in_one_sentence_are_two_mentions():
    got = [
        r
        for r in rows("Chile and Peru activated an agreement signed in 1998 and a deal signed in 2001.")
        if r["event_type"] == "sign_agreement"
    ]
    assert sorted(r["date_start"].year for r in got) == [1998, 2001]


def test_a_repeated_sentence_is_one_mention():
    once = rows("Chile recalled its ambassador from Peru.")
    twice = rows("Chile recalled its ambassador from Peru. Chile recalled its ambassador from Peru.")
    assert len(once) == len(twice) == 1


def test_a_refusal_is_its_own_type():
    got = coded("Chile refused to meet the Peruvian president.")
    assert ("reject", "asserted", "CHL", "PER") in got and not [g for g in got if g[0] == "meet"]
    assert ("refuse_recognition", "asserted", "CHL", "AFG") in coded("Chile refused to recognize the Taliban.")
    assert ("meet", "denied") in {(e, m) for e, m, *_ in coded("Chile did not meet the Peruvian president.")}


def test_a_threat_is_aimed_at_whom_its_condition_names():
    got = coded("Chile threatened to close its embassy unless Peru released the prisoners.")
    assert ("threaten", "asserted", "CHL", "PER") in got
    assert not [g for g in got if g[0] == "reduce_relations" and g[1] in ("asserted", "planned")]


def test_a_publication_date_added_later_re_extracts_that_article_only(tmp_path):
    """The extraction cache is keyed by the article's text and what the coder reads beside it: a
    date given in sources.csv after a first build re-dates that article's mentions ("on Monday" is
    resolved against it); the other article comes from the cache."""
    from pipeline.extract.stage import extract_mentions

    def frame(pub_a):
        return pl.DataFrame(
            {
                "article_id": ["a" + "5" * 16, "a" + "6" * 16],
                "text": ["Chile recalled its ambassador from Peru on Monday.", "Ghana and Togo signed a trade deal."],
                "title": [None, None],
                "published_at": [pub_a, None],
                "published_after": [None, None],
            },
            schema_overrides={"published_at": pl.Date, "published_after": pl.Date, "title": pl.String},
        )

    first, stats = extract_mentions(frame(None), tmp_path)
    assert stats.extracted == 2
    chile = first.filter(pl.col("actor_country") == "CHL")
    assert chile["date_start"].to_list() == [None]
    again, stats = extract_mentions(frame(PUB), tmp_path)
    assert (stats.extracted, stats.reused) == (1, 1)
    dated = again.filter(pl.col("actor_country") == "CHL")
    assert dated["date_start"][0] is not None and dated["date_start"][0] <= PUB
    assert again.filter(pl.col("actor_country") == "GHA").equals(first.filter(pl.col("actor_country") == "GHA"))
