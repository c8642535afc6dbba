"""Who is meant: the participants a slot's tokens name, resolved to gazetteer actors.

A slot (pipeline.extract.slots) gives head tokens; :func:`head_actors` says what each names:
an entity the gazetteer knows (a state, its capital or demonym, an organisation, a well-known
person: the article's surface analysis, pipeline.extract.actors), a person named beside a title
("Iranian Ambassador to Iraq Mohammad Kazem Al Sadeq", "the Tajik foreign minister", "his Iranian
counterpart"), the owner of a title or body read from the parse ("the foreign ministers of A, B and
C" is three participants), a pronoun resolved inside its sentence ("Hungary has said it will
support"), "the two countries" (the last two named), or nothing. It answers one of three things:
OK with the actors; NONE (the token names no actor: "the importance", a venue); STOP (it names one
we cannot resolve: an unknown name, an unresolved pronoun, a collective such as "regional
countries"), and a STOP is never replaced by a guess from another slot.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field, replace

from pipeline.extract.actors import ENTITY_KINDS, ArticleActors, ResolvedActor, Span, resolve
from pipeline.extract.frames import grammar_words
from pipeline.extract.parse import Sent
from pipeline.extract.slots import Slots
from pipeline.text.lexicon import load_actor_data, load_titles

OK, NONE, STOP = "ok", "none", "stop"
# "in April", "on Monday": a date, not a place.
CALENDAR_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)


@functools.lru_cache(maxsize=1)
def title_heads() -> frozenset[str]:
    """Head words of every title and body ("minister" of "foreign minister"): a plural or a title
    the phrase list does not hold ("the foreign ministers of A and B") is still a title."""
    t = load_titles()
    out = set()
    for words in t["sectors"].values():
        for w in words:
            out.add(w.lower().split()[-1])
    return frozenset(out - {"of", "affairs", "general", "state", "sector", "sectors", "community", "forces"})


@dataclass
class Ctx:
    text: str
    actors: ArticleActors
    starts: list[int]
    s0: int  # where the parsed text starts (after a dateline)
    sent: Sent
    g: Slots
    q0: int = 0  # the quoted sentence
    q1: int = 0
    people: dict = field(default_factory=dict)  # surname -> person Span found through the parse earlier in the article


def spans_over(ctx: Ctx, a: int, b: int) -> list[Span]:
    spans = ctx.actors.spans
    i = bisect.bisect_right(ctx.starts, a) - 1
    i = max(i - 3, 0)
    out = []
    while i < len(spans) and spans[i].start < b:
        sp = spans[i]
        if sp.end > a:
            out.append(sp)
        i += 1
    return out


def tok_range(ctx: Ctx, i: int) -> tuple[int, int]:
    return ctx.s0 + ctx.sent.idx[i], ctx.s0 + ctx.sent.end(i)


def usable(sp: Span) -> bool:
    if sp.kind == "anaphor":
        return sp.antecedent is not None
    if sp.kind == "person" and sp.entry is None:
        return sp.title is not None or sp.antecedent is not None
    return True


@functools.lru_cache(maxsize=1)
def title_sectors() -> dict[str, str]:
    t = load_titles()
    out: dict[str, str] = {}
    for sector, words in t["sectors"].items():
        for w in words:
            out.setdefault(w.lower().split()[-1], sector)
    return out


def is_title(ctx: Ctx, h: int) -> Span | None:
    """The title span over token h, or a synthetic one when its lemma is a title's head word."""
    a, b = tok_range(ctx, h)
    for sp in spans_over(ctx, a, b):
        if sp.kind == "title":
            return sp
    lem = ctx.sent.lemmas[h]
    if lem in title_heads():
        return Span(a, b, "title", ctx.text[a:b], sector=title_sectors().get(lem, "GOV"))
    return None


def owners_of(ctx: Ctx, h: int, depth: int) -> list[Span]:
    """Who a title or bearer noun belongs to: its possessor, national modifier, "of"/"at" object or
    apposition ("Kazakhstan's envoy", "the Iranian minister", "the ministers of A, B and C")."""
    g = ctx.g
    of = g.conj_expand(g.preps(h, "of"))
    # "the ministers of Iranian and Saudi Arabia": a national modifier of the "of" object names
    # another owner (head_actors keeps it only when it resolves to an entity).
    of_mods = [m for o in of for m in g.modifier_actors(o) if ctx.sent.deps[m] in ("amod", "compound")]
    cands = g.modifier_actors(h) + of + of_mods + g.preps(h, "at") + g.preps(h, "for")
    own = is_title(ctx, h)
    found: list[Span] = []
    for o in cands:
        a, b = tok_range(ctx, o)
        if own is not None and own.start <= a and b <= own.end:
            continue  # a word of the title itself ("Foreign" of "Foreign Minister")
        st, got = head_actors(ctx, o, depth + 1)
        if st == OK:
            found += got
    return found


def with_title(owner: Span, title: Span) -> Span:
    t = Span(title.start, title.end, "title", title.text, sector=title.sector, owner=owner)
    return t


def head_actors(ctx: Ctx, h: int, depth: int = 0) -> tuple[str, list[Span]]:
    """(OK, spans) | (NONE, []) the token names no actor | (STOP, []) it names one we cannot resolve."""
    s, g = ctx.sent, ctx.g
    if depth > 4:
        return NONE, []
    a, b = tok_range(ctx, h)
    sps = spans_over(ctx, a, b)
    if (
        s.lemmas[h] in grammar_words().pair_nouns
        and any(s.lower(k) in ("two", "both") for k in s.kids[h])
        and not owners_of(ctx, h, depth)
    ):
        pair = recent_pair(ctx, a)  # "the two countries", "both sides"
        return (OK, pair) if pair else (STOP, [])
    if any(sp.kind in ("collective", "people") for sp in sps):
        # a crowd as a participant stops the slot; as a modifier it is no one ("a press conference")
        return (NONE, []) if s.deps[h] in ("compound", "amod", "nmod") else (STOP, [])
    ent = [sp for sp in sps if sp.kind in ENTITY_KINDS]
    if ent:
        sp = ent[0]
        return (OK, [sp]) if usable(sp) else (STOP, [])
    if any(sp.kind == "place" for sp in sps):
        return NONE, []
    ana = [sp for sp in sps if sp.kind == "anaphor"]
    if ana and ana[0].antecedent is not None:
        return OK, [ana[0]]
    pos = s.pos[h]
    if s.lower(h) in CALENDAR_WORDS:
        return NONE, []  # "on Tuesday": a date, not a name
    if pos == "PRON" or ana:
        return pronoun_actor(ctx, h, depth)
    if pos in ("ADJ", "NUM", "DET", "ADV", "VERB"):
        return NONE, []
    title = is_title(ctx, h)
    fs = grammar_words()
    if pos == "PROPN" and title is None:
        # A name the gazetteer does not hold: a person named beside a title ("Iranian Ambassador
        # to Iraq Mohammad Kazem Al Sadeq", "Foreign Minister X", "X, the Kazakh envoy").
        for k in s.kids[h]:
            if s.deps[k] not in ("compound", "nmod", "amod", "appos", "poss"):
                continue
            t2 = is_title(ctx, k)
            if t2 is not None:
                owners = owners_of(ctx, k, depth)
                if not owners and isinstance(t2.owner, Span):
                    owners = [t2.owner]
                if owners:
                    name_toks = [
                        j for j in s.subtree(h) if s.pos[j] == "PROPN" and j >= k and not is_title(ctx, j)
                    ] or [h]
                    n0, _ = tok_range(ctx, min(name_toks))
                    _, n1 = tok_range(ctx, max(name_toks))
                    person = Span(n0, n1, "person", ctx.text[n0:n1], sector=t2.sector, via="title")
                    person.title = with_title(owners[0], t2)
                    ctx.people[s.words[h].lower()] = person
                    return OK, [person]
            elif s.deps[k] == "appos":
                st, got = head_actors(ctx, k, depth + 1)
                if st == OK:
                    return st, got
        for k in s.kids[h]:
            if s.deps[k] == "appos":
                t2 = is_title(ctx, k)
                if t2 is not None:
                    owners = owners_of(ctx, k, depth)
                    if owners:
                        person = Span(a, b, "person", ctx.text[a:b], sector=t2.sector, via="title")
                        person.title = with_title(owners[0], t2)
                        ctx.people[s.words[h].lower()] = person
                        return OK, [person]
        known = ctx.people.get(s.words[h].lower()) or surname_person(ctx, h)
        if known is not None:
            return OK, [known]
        # "the Council of Foreign Ministers of the European Union", "Uzbekistan's Samarkand": an "of"
        # or possessive owner (not a word of the name itself: "Chile Jorge Ramos" is a misparse).
        owners = []
        for o in [k for k in s.kids[h] if s.deps[k] == "poss"] + g.conj_expand(g.preps(h, "of")):
            st, got = head_actors(ctx, o, depth + 1)
            if st == OK:
                owners += got
        if owners:
            return OK, owners
        # An organisation's officer named by the organisation ("the United Nations Emergency Relief
        # Coordinator"): the organisation; a place named by its city ("Beijing International
        # Airport"): the city.
        for k in s.kids[h]:
            if s.deps[k] in ("compound", "nmod"):
                st, got = head_actors(ctx, k, depth + 1)
                if st == OK and all(sp.kind in ("org", "group", "capital") for sp in got):
                    return st, got
        return STOP, []
    if (
        s.lemmas[h] in grammar_words().pair_nouns
        and any(s.lower(k) in ("two", "both") for k in s.kids[h])
        and not owners_of(ctx, h, depth)
    ):
        pair = recent_pair(ctx, a)
        return (OK, pair) if pair else (STOP, [])
    if title is not None or s.lemmas[h] in fs.bearer_nouns:
        owners = owners_of(ctx, h, depth)
        if owners:
            return OK, [with_title(o, title) if title is not None else o for o in owners]
        for k in s.kids[h]:
            if s.deps[k] == "appos":
                st, got = head_actors(ctx, k, depth + 1)
                if st == OK:
                    return st, got
        if title is not None and isinstance(title.owner, Span):
            return OK, [title]
        return (STOP, []) if title is not None else (NONE, [])
    if s.lemmas[h] in ("group", "team", "delegation", "number", "member", "members", "head", "leader", "leaders"):
        for o in g.conj_expand(g.preps(h, "of")):
            st, got = head_actors(ctx, o, depth + 1)
            if st == OK:
                return st, got
    return NONE, []


def span_country(sp: Span, depth: int = 0) -> str | None:
    head = sp.resolved
    if head is None or depth > 4:
        return None
    if head.entry is not None and head.kind in ("state", "capital", "demonym", "org", "group", "person"):
        return head.entry.country
    t = head.title
    if t is not None and isinstance(t.owner, Span):
        return span_country(t.owner, depth + 1)
    return None


_PLACE_BEFORE = re.compile(r"\b(?:in|at|on|to|from|into|near|over|about|regarding)\s+(?:the\s+)?$", re.I)


def recent_pair(ctx: Ctx, before: int) -> list[Span]:
    """ "The two countries", "both sides": the last two distinct countries named before, within
    the last few sentences (a deictic pair; coders of news resolve it so)."""
    got: dict[str, Span] = {}
    lo = before - 600
    for sp in reversed(ctx.actors.spans):
        if sp.start >= before:
            continue
        if sp.start < lo:
            break
        if sp.kind not in ("state", "capital", "demonym", "person", "org", "anaphor", "title"):
            continue
        if _PLACE_BEFORE.search(ctx.text, max(0, sp.start - 14), sp.start):
            continue  # "in Syria", "to Moscow": a place, not a side
        c = span_country(sp)
        if c is None or c == "IGO" or c in got:
            continue
        got[c] = sp
        if len(got) == 2:
            return list(got.values())
    return []


def surname_person(ctx: Ctx, h: int) -> Span | None:
    """A bare surname that names a person resolved earlier in the article ("Xi" after "Xi Jinping")."""
    w = ctx.sent.words[h]
    if len(w) < 2 or not w[0].isupper():
        return None
    a, _ = tok_range(ctx, h)
    best = None
    for sp in ctx.actors.spans:
        if sp.start >= a:
            break
        if (
            sp.kind == "person"
            and (sp.entry is not None or sp.title is not None)
            and w in sp.text.replace("-", " ").split()
        ):
            best = sp
    return best


def pronoun_actor(ctx: Ctx, h: int, depth: int) -> tuple[str, list[Span]]:
    """A pronoun inside a report or a subordinate clause refers to the governing clause's subject
    ("Hungary has said it will support", "X said he would visit"); a possessive to its own
    clause's subject ("Raisi ... during his visit")."""
    s, g = ctx.sent, ctx.g
    w = s.lower(h)
    if w not in grammar_words().pronouns:
        return STOP, []
    x = h
    while s.pos[x] not in ("VERB", "AUX") and s.heads[x] != x:
        x = s.heads[x]
    seen = 0
    while seen < 5:
        seen += 1
        subj = [t for t in g.logical_subject(x) if t != h and s.pos[t] != "PRON" and h not in s.subtree(t)]
        if subj and (s.deps[h] == "poss" or x != s.heads[h] or s.deps[h] not in ("nsubj", "nsubjpass")):
            if w in ("they", "their", "them"):
                subj = g.conj_expand(subj)  # "X, Y and Z ... their summit"
            got = []
            for sj in subj:
                st, more = head_actors(ctx, sj, depth + 1)
                if st == OK:
                    got += more
            if got:
                return OK, got
        if (
            s.deps[x] in ("ccomp", "xcomp", "advcl", "conj", "relcl", "acl", "pcomp", "pobj", "prep")
            and s.heads[x] != x
        ):
            x = s.heads[x]
            while s.pos[x] not in ("VERB", "AUX") and s.heads[x] != x:
                x = s.heads[x]
            continue
        break
    return STOP, []


def fill(
    ctx: Ctx, t: int, slots: tuple[str, ...], is_noun: bool, support: int | None, exclude: set[int]
) -> tuple[list[Span], str]:
    """Participants of the first slot that yields any; (spans, slot name)."""
    g = ctx.g
    for slot in slots:
        if slot == "self":
            return [], "self"
        heads = [h for h in g.slot(t, slot, is_noun=is_noun, support=support) if h not in exclude and h != t]
        if not heads:
            continue
        found: list[Span] = []
        stop = False
        for h in heads:
            st, got = head_actors(ctx, h)
            if st == "ok":
                found += got
            elif st == "stop":
                stop = True
        if found:
            return found, slot
        if stop:
            return [], "stop"
    return [], ""


def location(ctx: Ctx, t: int, support: int | None) -> tuple[str | None, str | None]:
    s, g = ctx.sent, ctx.g
    places = [t] + ([support] if support is not None else [])
    for p in places:
        for prep in ("in", "at"):
            for h in g.preps(p, prep):
                a, b = tok_range(ctx, h)
                sps = [sp for sp in spans_over(ctx, a, b) if sp.kind in ("capital", "state", "place")]
                if sps:
                    sp = sps[0]
                    return sp.text, sp.entry.country if sp.entry is not None else None
                if s.pos[h] == "PROPN" and s.tags[h] == "NNP" and s.lower(h) not in CALENDAR_WORDS:
                    # A place the gazetteer does not hold ("Geneva", "Herat"): named, country unknown.
                    name = [
                        j for j in s.subtree(h) if j <= h and s.deps[j] in ("compound", "pobj") and s.pos[j] == "PROPN"
                    ]
                    n0, _ = tok_range(ctx, min(name or [h]))
                    return ctx.text[n0:b], None
    for k in s.kids[t]:
        if s.deps[k] == "compound":
            a, b = tok_range(ctx, k)
            sps = [sp for sp in spans_over(ctx, a, b) if sp.kind in ("capital", "place")]
            if sps:
                return sps[0].text, sps[0].entry.country if sps[0].entry is not None else None
    return None, None


def resolve_span(sp: Span, text: str, start, end, context: str) -> ResolvedActor | None:
    """resolve(), and a title's sector for a state's officer ("the Iranian speaker" is LEG)."""
    if sp.kind == "title" and isinstance(sp.owner, Span):
        r = resolve(sp.owner, text, start, end, context)
        if (
            r is not None
            and sp.sector
            and sp.owner.resolved.kind in ("state", "capital", "demonym")
            and r.sector == "GOV"
        ):
            r = replace(r, sector=sp.sector)
        return r
    return resolve(sp, text, start, end, context)


def distinct(spans: list[Span]) -> list[Span]:
    """Spans naming different participants (a title's several routes to one owner count once)."""
    out, seen = [], set()
    for sp in spans:
        o = sp.owner if isinstance(sp.owner, Span) else None
        key = (sp.start, sp.end, sp.kind, (o.start, o.end) if o is not None else None)
        if key not in seen:
            seen.add(key)
            out.append(sp)
    return out


def any_role(sp: Span, allowed) -> bool:
    head = sp.resolved
    entry = head.entry if head is not None else None
    if entry is None and head is not None and head.title is not None and isinstance(head.title.owner, Span):
        entry = head.title.owner.entry
    return entry is not None and any(r.sector in allowed for r in entry.roles)


def state_name(iso3: str) -> str:
    c = load_actor_data()["countries"].get(iso3)
    return c.get("name") if c else iso3
