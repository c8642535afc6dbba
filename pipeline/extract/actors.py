"""Actors: find names, titles and anaphors in an article and resolve them to country and sector.

Deterministic and data-driven (``schemas/dictionaries/actors.yaml`` and ``titles.yaml``):

- names (states, demonyms, capitals, organizations, well-known people) by case-sensitive
  Aho-Corasick over the article, longest match first, on word boundaries (a hyphen is a
  boundary: "Taliban-appointed", "Iran-Afghanistan");
- titles and bodies ("foreign minister", "Supreme Court", "private sector") fix the sector; a title
  belongs to the entity before it ("Kazakhstan's Deputy Minister", "the UAE foreign ministry") or
  after "of"/"at"/"for" ("the Supreme Court of Kazakhstan"); a country after "to"/"for"/"in" is a
  posting or place, not the owner ("ambassador to Afghanistan", "envoy in Astana");
- people not in the dictionary are resolved from the title next to their name (apposition) and
  remembered for the article; later mentions of the surname, spelling variants (rapidfuzz ratio on
  name tokens) and "he"/"the official"/"the ministry"/"the country" refer back (simple
  coreference, always to the most recent compatible antecedent).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from pipeline.text.lexicon import Entry, lexicon, lower_same_length, normalize

ENTITY_KINDS = {"state", "demonym", "capital", "org", "group", "person"}
STATE_KINDS = {"state", "capital", "demonym"}

# A capitalised name token; particles that may sit inside transliterated names.
_NAME_TOKEN = r"[A-Z][a-z]+(?:[-’'][A-Za-z]+)*"
_PARTICLE = r"(?:ur|ul|al|el|bin|ibn|de|da|van|von|ud|ad|Al|Ur|Ul|El|Abdul)"
NAME_RE = re.compile(rf"{_NAME_TOKEN}(?:[ -](?:{_PARTICLE}[ -])?{_NAME_TOKEN}){{0,4}}")
_TOKEN_RE = re.compile(_NAME_TOKEN)
# Capitalised words that start sentences or headlines but are not names.
_NOT_NAME = {
    "The",
    "A",
    "An",
    "In",
    "On",
    "At",
    "According",
    "During",
    "After",
    "Before",
    "Since",
    "Until",
    "While",
    "He",
    "She",
    "It",
    "They",
    "We",
    "This",
    "That",
    "These",
    "Those",
    "His",
    "Her",
    "Its",
    "Their",
    "Our",
    "Last",
    "Next",
    "Two",
    "Three",
    "Earlier",
    "Later",
    "Meanwhile",
    "However",
    "Also",
    "Similarly",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Read",
    "More",
    "Published",
    "Photo",
    "Minister",
    "President",
    "Ambassador",
    "Mr",
    "Mrs",
    "Ms",
    "Dr",
    "Deputy",
    "Acting",
    "Foreign",
    "Affairs",
    "Special",
    "Representative",
    "Director",
    "Protocol",
    "General",
    "Secretary",
    "Spokesman",
    "Spokesperson",
    "Ministry",
    "Embassy",
    "Court",
    "Supreme",
    "Islamic",
    "Republic",
    "Emirate",
    "Council",
    "Security",
    "Assembly",
    "News",
    "Agency",
    "Reuters",
    "Kazinform",
    "Tehran",
    "Times",
}
# A place: a state named as where something is ("in Yemen", "at the border of Iraq") is not what
# "the country" later refers back to. Only locative prepositions: a state after "with", "to", "on"
# or "against" is a party and is referred back to ("cut ties with Qatar and closed routes to the
# country"). On the Tehran Times corpus 21 sentences resolve differently with this list than with
# the longer one it replaced (to, with, on, against, for, about, ...): the old list was right in 4,
# this one in 10 (both wrong in 7); the development sets are unchanged.
_PLACE_PREP = re.compile(
    r"(?:\b(?:in|into|near|across|inside|at|through)\s+(?:the\s+)?)$",
    re.I,
)
_OWNER_PREP_AFTER_TITLE = re.compile(r"^\s+(?:of|at|for)\s+(?:the\s+)?$", re.I)
_GAP_STOP = {
    "to",
    "for",
    "in",
    "on",
    "at",
    "and",
    "or",
    "with",
    "of",
    "from",
    "by",
    "that",
    "said",
    "says",
    "the",
    "a",
    "an",
    "has",
    "have",
    "was",
    "were",
    "is",
    "are",
    "will",
    "who",
    "which",
    "as",
    "but",
}
_FORMAL_NAME_OF = re.compile(r"\s+of\s+(?:the\s+)?[A-Z]")
_ETHNIC = re.compile(r"\b(?:ethnic|fellow|expatriate|diaspora)\s+$", re.I)
_LEFT_GAP = re.compile(r"^(?:['’]s)?((?:[\s-]+[A-Za-z][\w-]*){0,3})[\s-]+$")


@dataclass
class Span:
    start: int
    end: int
    kind: str  # entity kinds | title | anaphor | collective
    text: str
    entry: Entry | None = None
    sector: str | None = None  # for titles; resolved sector hint for entities
    anaphor: str | None = None  # person | body | country
    owner: Span | None = None  # for titles: the entity that owns them
    title: Span | None = None  # for entities: the title they own
    antecedent: Span | None = None  # for anaphors and later person mentions
    # for "the country": the other states named before it, places too, most recent first (the
    # coder takes the first of another country when the antecedent is the act's other side: in
    # "the war in Yemen, since Saudi Arabia launched attacks on the country" Saudi Arabia does not
    # attack itself)
    earlier: tuple[Span, ...] = ()
    is_place: bool = False
    via: str = "name"  # name | title | coref

    @property
    def resolved(self) -> Span | None:
        """The span that carries identity (anaphors and later mentions point to their antecedent)."""
        s = self
        for _ in range(6):
            if s.antecedent is None:
                return s
            s = s.antecedent
        return s


def _word_bounded(text: str, start: int, end: int) -> bool:
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return False
    return not (end < len(text) and (text[end].isalnum() or text[end] == "_"))


def find_spans(text: str, norm: str | None = None, norm_lower: str | None = None) -> list[Span]:
    """All name, title, anaphor and collective spans in ``text``, non-overlapping, longest first.

    ``norm``/``norm_lower``: normalize(text) and its lower-cased form, when the caller has them.
    """
    lex = lexicon()
    norm = norm if norm is not None else normalize(text)
    norm_lower = norm_lower if norm_lower is not None else lower_same_length(norm)
    # Padded, punctuation-free copies: keys are " word ", so every hit is a whole-word match.
    norm = " " + norm + " "
    norm_lower = " " + norm_lower + " "
    # Candidates as plain tuples; Span objects only for the ones kept (most hits overlap).
    cands: list[tuple[int, int, int, object, object]] = []
    for end_idx, (key, entry) in lex.names.iter(norm):
        start = end_idx - len(key) + 1  # index in text of the first character after the leading space
        end = end_idx - 1
        if text[end : end + 1] == "$":
            continue  # "US$2 million" is a currency
        cands.append((start, start - end, 0, entry, None))
    for end_idx, (key, kind, value) in lex.lower.iter(norm_lower):
        start = end_idx - len(key) + 1
        # Proper names win ties with lower-case phrases ("Red Crescent" the organization).
        cands.append((start, 2 - len(key), 1, kind, value))
    cands.sort(key=lambda c: (c[0], c[1], c[2]))
    out: list[Span] = []
    taken_until = -1
    for start, neg_len, pri, a, b in cands:
        if start < taken_until:
            continue
        end = start - neg_len
        if pri == 0:
            entry = a
            sp = Span(
                start,
                end,
                entry.kind,
                text[start:end],
                entry=entry,
                sector=entry.sector if entry.kind == "title" else None,
            )
        else:
            if a == "anaphor" and b == "country" and _FORMAL_NAME_OF.match(text, end):
                # "the Republic of Azerbaijan", "the Kingdom of Saudi Arabia": the start of a
                # state's formal name, which the name after it carries, not a word referring back.
                continue
            sp = Span(start, end, a, text[start:end])
            if a == "title":
                sp.sector = b
            elif a == "anaphor":
                sp.anaphor = b
        out.append(sp)
        taken_until = end
    return out


def _attach_titles(text: str, spans: list[Span]) -> None:
    """Give each title its owner entity and each entity its title (see module docstring)."""
    for i, sp in enumerate(spans):
        if sp.kind == "demonym" and _ETHNIC.search(text, max(0, sp.start - 12), sp.start):
            sp.kind = "collective"  # "ethnic Albanians in south Serbia": a people, not Albania
            continue
        if sp.kind == "people" and i > 0:
            prev = spans[i - 1]
            if prev.kind in STATE_KINDS and _LEFT_GAP.match(text[prev.end : sp.start]) and sp.start - prev.end < 25:
                prev.kind = "collective"  # "Afghan refugees", "the Iranian press"
            continue
        if sp.kind != "title":
            continue
        # Left: "Kazakhstan's Deputy Minister", "the Taliban-appointed Charge d'Affaires".
        if i > 0:
            prev = spans[i - 1]
            gap = text[prev.end : sp.start]
            m = _LEFT_GAP.match(gap)
            if (
                m
                and (
                    prev.kind in ENTITY_KINDS
                    or (prev.kind == "anaphor" and prev.anaphor == "country")
                    or prev.kind == "title"
                )
                and not any(w.lower() in _GAP_STOP for w in re.findall(r"[A-Za-z]+", m.group(1) or ""))
            ):
                if prev.kind == "title":
                    if prev.owner is not None and len(gap.strip()) == 0:
                        sp.owner = prev.owner  # "Foreign Ministry spokesman"
                else:
                    sp.owner = prev
        if sp.owner is None and i + 1 < len(spans):
            nxt = spans[i + 1]
            gap = text[sp.end : nxt.start]
            if _OWNER_PREP_AFTER_TITLE.match(gap):
                if nxt.kind in ENTITY_KINDS or nxt.kind == "anaphor":
                    sp.owner = nxt
                elif nxt.kind == "title" and i + 2 < len(spans):
                    sp.owner = "chain"  # resolved below once the next title has its owner
        if sp.owner is not None and sp.owner != "chain" and sp.owner.title is None and sp.owner.kind != "title":
            sp.owner.title = sp
    # "spokesperson for the Foreign Ministry of Kazakhstan": the chained title's owner.
    for i in range(len(spans) - 1, -1, -1):
        sp = spans[i]
        if sp.kind == "title" and sp.owner == "chain":
            nxt = spans[i + 1]
            sp.owner = nxt.owner if isinstance(nxt.owner, Span) else None


def _preceded_by_place(text: str, sp: Span) -> bool:
    return bool(_PLACE_PREP.search(text, max(0, sp.start - 14), sp.start))


_VENUE_NOUN = re.compile(
    r"[\s-]+(?:talks|meeting|meetings|summit|conference|process|format|negotiations|agreement|accord|declaration|communique|forum|dialogue|round)\b"
)
_APPOSITION_MODIFIERS = {
    "acting",
    "deputy",
    "former",
    "new",
    "first",
    "senior",
    "top",
    "chief",
    "special",
    "interim",
    "caretaker",
    "de",
    "facto",
    "then",
    "permanent",
    "current",
    "visiting",
    "outgoing",
    "vice",
    "assistant",
    "director",
    "head",
    "secretary",
    "general",
    "of",
    "for",
    "at",
    "the",
    "and",
    "s",
}


_NAME_AFTER_TITLE = re.compile(
    rf"(?:\s+(?:of|for)\s+(?:the\s+)?(?:[A-Z][\w’']*\s?){{1,4}})?,?\s+(?P<name>{_NAME_TOKEN}(?:[ "
    rf"-](?:{_PARTICLE}[ -])?{_NAME_TOKEN}){{0,4}})"
)
_NAME_BEFORE_APPOSITION = re.compile(
    rf"(?P<name>{_NAME_TOKEN}(?:[ -](?:{_PARTICLE}[ -])?{_NAME_TOKEN}){{0,4}}),\s+(?:the\s+|a\s+"
    rf"|an\s+)?(?P<gap>(?:[\w’'-]+\s+){{0,3}})"
)


@dataclass
class Person:
    name: str
    span: Span  # the first, resolved mention


class ArticleActors:
    """Names, titles and anaphors of one article, resolved in reading order."""

    def __init__(self, text: str, norm: str | None = None, norm_lower: str | None = None):
        self.text = text
        self.spans = find_spans(text, norm, norm_lower)
        for sp in self.spans:
            # "the Vienna talks", "the Astana process": a capital naming a venue or a format.
            if sp.kind == "capital" and _VENUE_NOUN.match(text, sp.end):
                sp.kind = "place"
        _attach_titles(text, self.spans)
        self._add_people()
        self._resolve_anaphors()

    # -- people ---------------------------------------------------------------------------------
    def _add_people(self) -> None:
        """Register people named next to an owned title, then find their later mentions.

        Driven from the titles (dozens per article) rather than from every capitalised word, so
        that it stays linear in the text.
        """
        text = self.text
        spans = self.spans
        covered = bytearray(len(text) + 1)
        for s_ in spans:
            covered[s_.start : s_.end] = b"\x01" * (s_.end - s_.start)
        people: list[Person] = []
        new_spans: list[Span] = []
        taken: set[tuple[int, int]] = set()

        def register(start: int, end: int, title: Span) -> bool:
            toks = [
                t for t in _TOKEN_RE.finditer(text, start, end) if not covered[t.start()] and t.group() not in _NOT_NAME
            ]
            if not toks:
                return False
            start, end = toks[0].start(), toks[-1].end()
            if (start, end) in taken or any(covered[start:end]):
                return False
            taken.add((start, end))
            sp = Span(start, end, "person", text[start:end], sector=title.sector, via="title")
            sp.title = title
            people.append(Person(sp.text, sp))
            new_spans.append(sp)
            return True

        for t in spans:
            if t.kind != "title" or not isinstance(t.owner, Span):
                continue
            # "spokesman Maria Zakharova", "Deputy Minister of Foreign Affairs, Ali Bagheri"
            m = _NAME_AFTER_TITLE.match(text, t.end)
            if m and register(m.start("name"), m.end("name"), t):
                continue
            # "Zamir Kabulov, Russia's Special Representative", "X, the acting ambassador of ..."
            phrase_start = min(t.start, t.owner.start)
            lo = max(0, phrase_start - 90)
            m = _NAME_BEFORE_APPOSITION.search(text, lo, phrase_start)
            while m and m.end() != phrase_start:
                m = _NAME_BEFORE_APPOSITION.search(text, m.start() + 1, phrase_start)
            if m:
                gap = m.group("gap") or ""
                if all(
                    w[0].isupper() or w.lower() in _APPOSITION_MODIFIERS or "-" in w
                    for w in re.findall(r"[\w’'-]+", gap)
                    if w not in ("s", "’s", "'s")
                ):
                    register(m.start("name"), m.end("name"), t)
        if people:
            tokens: dict[str, Person] = {}
            for p in people:
                for tok in re.split(r"[\s-]+", p.name):
                    if len(tok) >= 4 and tok not in _NOT_NAME:
                        tokens.setdefault(tok.lower(), p)
            choices = list(tokens)
            initials = {c[0] for c in choices}
            for n in new_spans:
                covered[n.start : n.end] = b"\x01" * (n.end - n.start)
            for m in _TOKEN_RE.finditer(text):
                if covered[m.start()]:
                    continue
                tok = m.group().lower()
                if len(tok) < 4 or tok[0] not in initials:
                    continue  # fuzzy matching only against names with the same initial
                hit = None
                for part in [tok, *(q for q in re.split(r"[-’']", tok) if len(q) >= 4 and q != tok)]:
                    hit = tokens.get(part)
                    if hit is None:
                        best = process.extractOne(part, choices, scorer=fuzz.ratio, score_cutoff=85)
                        hit = tokens[best[0]] if best else None
                    if hit is not None:
                        break
                if hit is not None and hit.span.start < m.start():
                    new_spans.append(Span(m.start(), m.end(), "person", m.group(), antecedent=hit.span, via="coref"))
        if new_spans:
            self.spans = sorted(spans + new_spans, key=lambda s_: s_.start)

    @staticmethod
    def _match_person(name: str, people: list[Person]) -> Person | None:
        if not people:
            return None
        cand_tokens = [t.lower() for t in re.split(r"[\s-]+", name) if len(t) >= 4]
        if not cand_tokens:
            return None
        for p in reversed(people):
            toks = [t.lower() for t in re.split(r"[\s-]+", p.name) if len(t) >= 4]
            for ct in cand_tokens:
                hit = process.extractOne(ct, toks, scorer=fuzz.ratio, score_cutoff=85)
                if hit is not None:
                    return p
        return None

    # -- anaphors -------------------------------------------------------------------------------
    def _resolve_anaphors(self) -> None:
        last_person: Span | None = None
        last_state: Span | None = None
        states: list[Span] = []  # every state named so far (places too), in reading order
        last_body: dict[str, Span] = {}
        text = self.text
        for sp in self.spans:
            if sp.kind in ENTITY_KINDS or sp.kind == "title":
                if sp.kind in STATE_KINDS:
                    states.append(sp)
                    if not _preceded_by_place(text, sp):
                        last_state = sp
                if sp.kind == "person" and (sp.title is not None or sp.entry is not None or sp.antecedent is not None):
                    last_person = sp
                owner = sp.owner if sp.kind == "title" else None
                if sp.kind == "title" and isinstance(owner, Span):
                    for head in ("ministry", "embassy", "government", "court", "parliament", "mfa", "delegation"):
                        if head in sp.text.lower():
                            last_body[head] = owner
                    if owner.resolved.kind in STATE_KINDS:
                        states.append(owner)
                        if not _preceded_by_place(text, owner):
                            last_state = owner
                continue
            if sp.kind != "anaphor":
                continue
            low = sp.text.lower()
            if sp.anaphor == "country":
                sp.antecedent = last_state
                sp.earlier = tuple(e for e in reversed(states[-6:]) if e is not last_state)
            elif sp.anaphor == "person":
                sp.antecedent = last_person
            elif sp.anaphor == "body":
                head = low.split()[-1]
                sp.antecedent = last_body.get(head) or (last_state if head in {"government", "mfa"} else None)
            if sp.antecedent is not None:
                sp.via = "coref"

    def in_range(self, start: int, end: int) -> list[Span]:
        return [s for s in self.spans if s.start >= start and s.end <= end]


@dataclass(frozen=True)
class ResolvedActor:
    text: str
    name: str | None
    country: str | None
    sector: str | None
    via: str  # name | title | coref
    # The person acting, as first named in the article (later spellings and surnames resolve to
    # it); None for states, bodies and groups. Deduplication tells two meetings apart by it.
    person: str | None = None


def _dated_sector(entry: Entry, start: dt.date | None, end: dt.date | None, context: str) -> str | None:
    if not entry.roles:
        return entry.sector
    for r in entry.roles:
        if end is not None and r.start is not None and end < r.start:
            continue
        if start is not None and r.end is not None and start > r.end:
            continue
        if (start is not None or end is not None) and _fits(r, start, end):
            return r.sector
    # Undated: wording that presupposes a dated role ("Taliban-appointed", "Islamic Emirate's envoy").
    for r in entry.roles:
        if r.presupposed_by(context):
            return r.sector
    return None


def _fits(r, start, end) -> bool:
    lo_ok = r.start is None or (start is not None and start >= r.start)
    hi_ok = r.end is None or (end is not None and end <= r.end)
    return lo_ok and hi_ok


def resolve(
    sp: Span, text: str, date_start: dt.date | None, date_end: dt.date | None, context: str, _depth: int = 0
) -> ResolvedActor | None:
    """Country, sector and canonical name of a span (following anaphors to their antecedent)."""
    if _depth > 4:
        return None  # a cycle of titles and owners: unresolvable
    via = sp.via
    head = sp.resolved
    if head is None or head.kind in ("anaphor", "collective", "title"):
        if head is not None and head.kind == "title" and isinstance(head.owner, Span):
            head = head.owner.resolved
        else:
            return None
    title = head.title if head.title is not None else sp.title
    if head.kind == "person" and head.entry is None and head.title is not None:
        owner = head.title.owner
        if not isinstance(owner, Span):
            return None
        owner_res = resolve(owner, text, date_start, date_end, context, _depth + 1)
        if owner_res is None:
            return None
        sector = head.title.sector or owner_res.sector
        if owner_res.sector in ("REB", "IGO") or sector is None:
            sector = owner_res.sector
        return ResolvedActor(
            _actor_text(sp, text),
            owner_res.name,
            owner_res.country,
            sector,
            "coref" if via == "coref" else "title",
            person=head.text,
        )
    entry = head.entry
    if entry is None:
        return None
    if entry.kind == "person" and entry.role_of:
        sector = _dated_sector(entry, date_start, date_end, context)
        name = entry.role_of
    else:
        sector = _dated_sector(entry, date_start, date_end, context) if entry.roles else entry.sector
        name = entry.name
    # A state's or ruling group's body: the title fixes the sector (REB stays REB before its GOV role).
    if (
        title is not None
        and title.sector
        and entry.kind in STATE_KINDS | {"group"}
        and not (entry.kind == "group" and sector == "REB")
    ):
        sector = title.sector
    if entry.kind == "person" and entry.country not in (None, "IGO") and not entry.role_of:
        name = _gazetteer_state_name(entry.country) or entry.name
    return ResolvedActor(
        _actor_text(sp, text), name, entry.country, sector, via, person=entry.name if entry.kind == "person" else None
    )


def _gazetteer_state_name(iso3: str) -> str | None:
    from pipeline.text.lexicon import load_actor_data

    c = load_actor_data()["countries"].get(iso3)
    return c.get("name") if c else None


def _actor_text(sp: Span, text: str) -> str:
    start, end = sp.start, sp.end
    t = sp.title
    if (t is not None and abs(t.start - end) < 60) or (t is not None and abs(start - t.end) < 60):
        start, end = min(start, t.start), max(end, t.end)
        o = t.owner if isinstance(t.owner, Span) else None
        if o is not None and abs(o.start - end) < 60:
            start, end = min(start, o.start), max(end, o.end)
    return text[start:end]
