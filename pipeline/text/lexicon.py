"""Dictionaries (YAML) compiled into matchers: the actor gazetteer, titles, anaphors, cue words.

Everything here is data-driven: ``schemas/dictionaries/*.yaml`` and the ``triggers`` of
``schemas/codebook.yaml``. Names are matched case-sensitively with one Aho-Corasick automaton
(pyahocorasick: linear in the text, independent of the number of names); titles, anaphors and
collective phrases case-insensitively with a second automaton over the lower-cased text.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick
import numpy as np
import pycountry

from schemas.codebook import load_yaml

ROOT = Path(__file__).resolve().parents[2]
DICT_DIR = ROOT / "schemas" / "dictionaries"
# Dictionaries owned by other modules (dates, ingest) are not part of the actor lexicon.
NOT_MINE = {"boilerplate.yaml", "dates.yaml"}


@dataclass(frozen=True)
class Role:
    sector: str
    start: dt.date | None
    end: dt.date | None
    cues: tuple[re.Pattern, ...] = ()
    # The actor's aliases as plain strings: a cue can only match where one occurs, and `in` is
    # ~1000x cheaper than running the cue patterns over a whole article.
    gate: tuple[str, ...] = ()

    def presupposed_by(self, text: str) -> bool:
        return bool(self.cues) and any(a in text for a in self.gate) and any(c.search(text) for c in self.cues)


@dataclass(frozen=True)
class Entry:
    """One gazetteer entry an alias points to."""

    kind: str  # state | demonym | capital | org | group | person
    name: str
    country: str | None
    sector: str | None
    roles: tuple[Role, ...] = ()
    role_of: str | None = None  # the organization a person acts for: the actor's name and dated roles


@dataclass
class Lexicon:
    names: ahocorasick.Automaton  # padded normalised aliases (case-sensitive) -> (key, Entry)
    lower: ahocorasick.Automaton  # padded normalised lower-case phrases -> (key, kind, value)
    entries_by_name: dict[str, Entry]
    anaphor_kind: dict[str, str] = field(default_factory=dict)
    commentators: frozenset[str] = frozenset()


# Every character that is not a letter or digit becomes a space (one for one, so offsets hold).
# Dictionary keys are normalised the same way and padded with a space on each side, so an
# automaton hit is always a whole-word match and no boundary check is needed per hit.
# numpy over the UTF-32 code points: 8x faster than str.translate with a dict (measured on the
# corpus: 0.14 s against 1.1 s per 3,000 articles); this runs on every article.
# One table over every code point (4.4 MB): a single gather per article.
_LUT = np.arange(0x110000, dtype=np.uint32)
for _c in range(0x3000):
    if not chr(_c).isalnum():
        _LUT[_c] = 32


def normalize(text: str) -> str:
    """Punctuation and whitespace to single spaces, one for one (same length and offsets)."""
    if not text:
        return text
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return _LUT[codes].tobytes().decode("utf-32-le")


def padded_key(phrase: str) -> str:
    return " " + normalize(phrase).strip() + " "


def lower_same_length(text: str) -> str:
    """Lower-case without changing offsets (a few characters, e.g. 'İ', grow when lower-cased)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _date(v) -> dt.date | None:
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def _roles(raw: list[dict] | None, aliases: list[str]) -> tuple[Role, ...]:
    out = []
    alias_re = "(?:" + "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True)) + ")"
    for r in raw or []:
        # All cues of a role as one alternation: one pass over the text instead of one per cue.
        cue_list = [c.replace("{alias}", alias_re) for c in r.get("cues", [])]
        cues = (re.compile(r"(?<![\w-])(?:" + "|".join(cue_list) + r")(?!\w)"),) if cue_list else ()
        out.append(Role(r["sector"], _date(r.get("from")), _date(r.get("until")), cues, tuple(aliases)))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def load_actor_data() -> dict:
    return load_yaml((DICT_DIR / "actors.yaml").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def load_titles() -> dict:
    return load_yaml((DICT_DIR / "titles.yaml").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def load_modality() -> dict:
    return load_yaml((DICT_DIR / "modality.yaml").read_text(encoding="utf-8"))


def gazetteer() -> dict[str, Entry]:
    """alias -> Entry for every name in actors.yaml (plus pycountry's names of each state)."""
    return _gazetteer()


@functools.lru_cache(maxsize=1)
def _gazetteer() -> dict[str, Entry]:
    data = load_actor_data()
    out: dict[str, Entry] = {}
    org_entries: dict[str, Entry] = {}

    def add(alias: str, entry: Entry) -> None:
        alias = alias.strip()
        if alias and alias not in out:  # first writer wins: organizations and people before states
            out[alias] = entry

    for org in data.get("organizations", []):
        aliases = list(org["aliases"])
        e = Entry(
            "group" if org.get("roles") else "org",
            org["name"],
            org.get("country"),
            org.get("sector"),
            _roles(org.get("roles"), aliases),
        )
        org_entries[org["name"]] = e
        for a in aliases:
            add(a, e)
    for p in data.get("people", []):
        role_of = p.get("role_of")
        roles = org_entries[role_of].roles if role_of else ()
        e = Entry("person", p["name"], p.get("country"), p.get("sector"), roles, role_of)
        for a in p["aliases"]:
            add(a, e)
    for iso3, c in data["countries"].items():
        pc = pycountry.countries.get(alpha_3=iso3)
        name = c.get("name") or (getattr(pc, "common_name", None) or pc.name)
        state = Entry("state", name, iso3, "GOV")
        names = [name, *c.get("aliases", [])]
        if pc is not None:
            names += [pc.name, getattr(pc, "common_name", "") or "", getattr(pc, "official_name", "") or ""]
        for a in names:
            if a and "," not in a:  # "Korea, Republic of" is an index form, not running text
                add(a, state)
                if a.startswith("the "):
                    add("The " + a[4:], state)
        for d in c.get("demonyms", []):
            add(d, Entry("demonym", name, iso3, "GOV"))
        for cap in c.get("capitals", []):
            add(cap, Entry("capital", name, iso3, "GOV"))
    # Then every state's demonym (and its plural: "the Iranians warned"), capital and other
    # spellings from a maintained source (countryinfo), where actors.yaml says nothing of its own.
    # A demonym two states share ("Congolese") or a capital that is also a word or a given name
    # (`not_metonyms` in actors.yaml: "Victoria", "Kingston") is left out.
    skip = set(data.get("not_metonyms", []))
    for iso3, info in _country_info().items():
        c = data["countries"].get(iso3)
        if c is None:
            continue  # not a state the gazetteer codes
        name = c.get("name") or pycountry.countries.get(alpha_3=iso3).name
        demonym = info.get("demonym")
        if demonym and demonym not in skip and _demonym_owners().get(demonym) == 1:
            for d in (demonym, _plural(demonym)):
                if d:
                    add(d, Entry("demonym", name, iso3, "GOV"))
        capital = info.get("capital")
        if capital and capital not in skip:
            add(capital, Entry("capital", name, iso3, "GOV"))
        for alt in info.get("altSpellings") or []:
            if len(alt) > 3 and "," not in alt and alt not in skip and not alt.isupper():
                add(alt, Entry("state", name, iso3, "GOV"))
    return out


@functools.lru_cache(maxsize=1)
def _country_info() -> dict[str, dict]:
    """countryinfo's record of each state, by ISO 3166-1 alpha-3."""
    from countryinfo import all_countries

    out: dict[str, dict] = {}
    for country in all_countries():
        info = country.info()
        iso = (info.get("ISO") or {}).get("alpha3")
        if iso:
            out[iso] = dict(info)
    return out


@functools.lru_cache(maxsize=1)
def _demonym_owners() -> dict[str, int]:
    counts: dict[str, int] = {}
    for info in _country_info().values():
        d = info.get("demonym")
        if d:
            counts[d] = counts.get(d, 0) + 1
    return counts


def _plural(demonym: str) -> str | None:
    """ "Iranian" -> "Iranians", "Pakistani" -> "Pakistanis"; "Chinese", "Swiss", "French" have none."""
    if demonym.endswith(("ese", "ss", "sh", "ch", "s")) or " " in demonym:
        return None
    return demonym + "s"


@functools.lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    gaz = _gazetteer()
    names = ahocorasick.Automaton()
    for alias, entry in gaz.items():
        key = padded_key(alias)
        if not names.exists(key):
            names.add_word(key, (key, entry))
    t = load_titles()
    for sector, words in (t.get("abbreviated") or {}).items():
        for w in words:
            key = padded_key(w)
            if not names.exists(key):
                names.add_word(key, (key, Entry("title", w, None, sector)))
    names.make_automaton()

    lower = ahocorasick.Automaton()
    seen: dict[str, tuple] = {}
    for sector, words in t["sectors"].items():
        for w in words:
            seen[w.lower()] = (w.lower(), "title", sector)
    anaphor_kind = {}
    for kind, words in t["anaphors"].items():
        for w in words:
            seen.setdefault(w.lower(), (w.lower(), "anaphor", kind))
            anaphor_kind[w.lower()] = kind
    for w in t["collective"]:
        seen[w.lower()] = (w.lower(), "collective", None)
    for w in t.get("people", []):
        seen.setdefault(w.lower(), (w.lower(), "people", None))
    for w, (_phrase, kind, value) in seen.items():
        key = padded_key(w)
        lower.add_word(key, (key, kind, value))
    lower.make_automaton()
    by_name = {e.name: e for e in gaz.values()}
    return Lexicon(names, lower, by_name, anaphor_kind, frozenset(t.get("commentators", [])))


def dictionary_files() -> list[Path]:
    return sorted(p for p in DICT_DIR.glob("*.yaml") if p.name not in NOT_MINE)


def role_lower_bounds(text: str) -> list[dt.date]:
    """Start dates of dated roles the wording presupposes ("Taliban-appointed" -> 2021-08-15).

    Data-driven: every organization role in actors.yaml with a start date and `cues`.
    """
    return sorted({r.start for r in _dated_roles_with_cues() if r.presupposed_by(text)})


@functools.lru_cache(maxsize=1)
def _dated_roles_with_cues() -> tuple:
    """Roles with a start date and cues, found once (the gazetteer has thousands of entries)."""
    roles: dict = {}
    for entry in _gazetteer().values():
        for r in entry.roles:
            if r.start is not None and r.cues:
                roles.setdefault((r.sector, r.start, r.end, r.gate), r)  # one entry per alias: keep one
    return tuple(roles.values())
