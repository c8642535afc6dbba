"""The actor gazetteer's `people:` list (schemas/dictionaries/actors.yaml) as data.

The loader lets the first writer of an alias win (organizations, then people, then states), so a
person alias that equals a state's name, capital or demonym, or an organization's alias, would
silently take that name away from its owner, and a person alias another person already holds would
silently resolve to the other person. These tests make both loud, and hold the bare-surname rule to
what a machine can check.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pycountry
import pytest

from pipeline.extract.actors import ArticleActors, find_spans, resolve
from pipeline.text.lexicon import lexicon, load_actor_data, load_titles, normalize, padded_key
from schemas.codebook import load_codebook

DATA = load_actor_data()
PEOPLE = DATA["people"]
ORGS = DATA["organizations"]
COUNTRIES = DATA["countries"]


def _key(alias: str) -> str:
    """An alias as the name automaton stores it: punctuation to spaces, stripped (case kept)."""
    return normalize(alias).strip()


def _tokens(alias: str) -> list[str]:
    return _key(alias).split()


def _state_names() -> dict[str, str]:
    """key -> what it names, for every name the loader gives a state: the file's name, aliases,
    demonyms and capitals, and pycountry's name, common name and official name."""
    out: dict[str, str] = {}
    for iso3, c in COUNTRIES.items():
        pc = pycountry.countries.get(alpha_3=iso3)
        names = [c.get("name"), *c.get("aliases", []), *c.get("demonyms", []), *c.get("capitals", [])]
        if pc is not None:
            names += [pc.name, getattr(pc, "common_name", None), getattr(pc, "official_name", None)]
        for n in names:
            if n and "," not in n:  # the loader skips index forms ("Korea, Republic of")
                out[_key(n)] = iso3
                if n.startswith("the "):
                    out[_key("The " + n[4:])] = iso3
    return out


def _other_names() -> dict[str, str]:
    """key -> owner for every state, organization and abbreviated-title name (not people)."""
    out = dict(_state_names())
    for org in ORGS:
        for a in org["aliases"]:
            out[_key(a)] = org["name"]
    for words in (load_titles().get("abbreviated") or {}).values():
        for w in words:
            out[_key(w)] = f"title {w}"
    return out


def test_people_entries_are_well_formed():
    sectors = set(load_codebook().sectors)
    org_names = {o["name"] for o in ORGS}
    problems = []
    for p in PEOPLE:
        name, aliases = p.get("name"), p.get("aliases")
        if not name or not isinstance(aliases, list) or not aliases:
            problems.append(f"{p}: needs a name and a non-empty list of aliases")
            continue
        if name not in aliases:
            problems.append(f"{name}: the full name is not among its aliases")
        if len(set(aliases)) != len(aliases):
            problems.append(f"{name}: repeated alias")
        if p.get("country") != "IGO" and p.get("country") not in COUNTRIES:
            problems.append(f"{name}: country {p.get('country')!r} is neither IGO nor a state in the file")
        if p.get("role_of"):
            if p["role_of"] not in org_names:
                problems.append(f"{name}: role_of {p['role_of']!r} is no organization in the file")
        elif p.get("sector") not in sectors:
            problems.append(f"{name}: sector {p.get('sector')!r} is not a codebook sector")
        if (p.get("country") == "IGO") != (p.get("sector") == "IGO"):
            problems.append(f"{name}: an IGO head has country IGO and sector IGO, no one else does")
    names = [p.get("name") for p in PEOPLE]
    problems += [f"{n}: listed twice" for n in {n for n in names if names.count(n) > 1}]
    assert not problems, "\n".join(problems)


def test_every_person_alias_is_matched_as_that_person():
    """What the matcher finds for each alias (the normalised, case-sensitive automaton key) is the
    person it was written for: no earlier organization or person holds it."""
    names = lexicon().names
    wrong = []
    for p in PEOPLE:
        for a in p["aliases"]:
            hit = names.get(padded_key(a), None)
            entry = hit[1] if hit else None
            if entry is None or entry.kind != "person" or entry.name != p["name"]:
                wrong.append(f"{a!r} ({p['name']}) -> {entry.name if entry else None}")
    assert not wrong, "\n".join(wrong)


def test_no_person_alias_is_a_state_organization_or_title_name():
    """People are loaded before states, so such an alias would take a state's name, capital or
    demonym (or an organization's alias) away from it."""
    others = _other_names()
    clashes = [
        f"{a!r} ({p['name']}) is also {others[_key(a)]}" for p in PEOPLE for a in p["aliases"] if _key(a) in others
    ]
    assert not clashes, "\n".join(clashes)


def test_bare_surnames_are_unambiguous():
    """A one-word alias must not be (a) a word of another person's alias in another country
    ("Herzog": Isaac Herzog ISR, Roman Herzog DEU), (b) another listed person's given name ("Abbas":
    Mahmoud Abbas, Abbas Araghchi), or (c) a word of a state, capital, demonym or organization name
    ("Hague": William Hague, The Hague)."""
    words_by_country: dict[str, set[str]] = defaultdict(set)
    given_names: dict[str, str] = {}
    for p in PEOPLE:
        for a in p["aliases"]:
            for w in _tokens(a):
                words_by_country[w].add(p["country"])
        given_names.setdefault(_tokens(p["name"])[0], p["name"])
    other_words = {w for k in _other_names() for w in k.split()}
    problems = []
    for p in PEOPLE:
        for a in p["aliases"]:
            if len(_tokens(a)) != 1:
                continue
            w = _tokens(a)[0]
            if words_by_country[w] - {p["country"]}:
                problems.append(
                    f"{a!r} ({p['name']}): also in names from {sorted(words_by_country[w] - {p['country']})}"
                )
            if w in given_names and given_names[w] != p["name"]:
                problems.append(f"{a!r} ({p['name']}): the given name of {given_names[w]}")
            if w in other_words:
                problems.append(f"{a!r} ({p['name']}): a word of a state or organization name")
    assert not problems, "\n".join(problems)


# -- the names at work in running text ------------------------------------------------------------


def _actor(text: str, surface: str):
    """Country and sector of the span written `surface`, resolved as the coder resolves it."""
    spans = [s for s in ArticleActors(text).spans if s.text == surface]
    assert spans, f"{surface!r} is not matched as a name in {text!r}"
    sp = spans[0]
    res = resolve(sp, text, dt.date(2000, 1, 1), dt.date(2000, 1, 31), text)
    return res.country, res.sector


@pytest.mark.parametrize(
    "text,surface,expected",
    [
        ("President Bill Clinton imposed sanctions.", "Bill Clinton", ("USA", "GOV")),
        ("Yeltsin hosted Hashimoto in Moscow.", "Yeltsin", ("RUS", "GOV")),
        ("Yeltsin hosted Hashimoto in Moscow.", "Hashimoto", ("JPN", "GOV")),
        ("Gaddafi met the envoy.", "Gaddafi", ("LBY", "GOV")),
        ("Qaddafi met the envoy.", "Qaddafi", ("LBY", "GOV")),
        ("Kadhafi met the envoy.", "Kadhafi", ("LBY", "GOV")),
        ("Mikhail Gorbachev signed the treaty.", "Mikhail Gorbachev", ("RUS", "GOV")),
        ("Ban Ki-moon urged restraint.", "Ban Ki-moon", ("IGO", "IGO")),
        ("Bush spoke to Blair.", "Bush", ("USA", "GOV")),
        ("Bush spoke to Blair.", "Blair", ("GBR", "GOV")),
        ("Theresa May visited Riyadh.", "Theresa May", ("GBR", "GOV")),
        ("Kim Jong Un received the delegation.", "Kim Jong Un", ("PRK", "GOV")),
        ("Pope Francis called for a ceasefire.", "Pope Francis", ("VAT", "GOV")),
        ("Jens Stoltenberg said the alliance was united.", "Jens Stoltenberg", ("IGO", "IGO")),
    ],
)
def test_a_listed_person_resolves_to_their_state(text, surface, expected):
    assert _actor(text, surface) == expected


@pytest.mark.parametrize(
    "text,word",
    [
        ("The talks resumed in May.", "May"),
        ("Major General Smith met the envoy.", "Major"),
        ("Sharon Smith, a reporter, asked.", "Sharon"),
        ("Pilgrims gathered on Mount Arafat.", "Arafat"),
    ],
)
def test_ambiguous_surnames_alone_name_no_one(text, word):
    assert not [s for s in find_spans(text) if s.text == word and s.kind == "person"]
