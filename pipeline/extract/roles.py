"""Who did what to whom: the actor and target of a trigger, from the sentence's structure.

Rules (deterministic, in order):
- passive ("X was removed ... by Y", "organizations recognized by Y"): actor = the agent after
  "by", target = the subject before the trigger; a passive without an agent has no actor;
- `swap` patterns ("the envoy presented his credentials to Y"): actor after, target before;
- "a meeting between X and Y" (symmetric types): the two participants after "between";
- otherwise the actor is the nearest actor before the trigger that is not a place or posting
  ("in Astana", "ambassador to Afghanistan" are skipped) and the target the first actor after
  the trigger; for nominal triggers (`actor_scope: adjacent`: "Israeli attack", "takeover of")
  the actor must modify the trigger directly or follow "by";
- symmetric types with no target after the trigger take "X and Y held talks" as the pair;
- `default_target: self` (domestic acts like seizing power) targets the actor's own country;
- a collective subject ("many countries", "the international community") or an unresolved
  anaphor means no event; so does a commentator ("an analyst said") between actor and trigger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.extract.actors import _PLACE_PREP, ENTITY_KINDS, Span
from pipeline.extract.patterns import Trigger
from pipeline.text.lexicon import lexicon

CANDIDATE_KINDS = ENTITY_KINDS | {"anaphor", "collective"}
_PASSIVE_BEFORE = re.compile(
    r"\b(?:is|are|was|were|be|been|being|get|got|gets)\s+(?:(?:\w+ly|not|also|now|reportedly)\s+){0,2}$", re.I
)
_BY_AFTER = re.compile(r"(?:\s+[\w’'-]+){0,4}?\s+by\s+", re.I)
_TARGET_STOP = re.compile(r";|\s[–—-]\s|,\s(?:which|who|where|while|but|although|as|after|before|when)\b|\.\s")
# Between a nominal trigger and the actor that modifies it: only a possessive and attack/aid
# adjectives ("Israel's deadly air attack"), never a verb ("Iraq condemned the attack").
_ADJACENT_GAP = re.compile(
    r"^(?:['’]s)?(?:[\s-]+(?:military|terrorist|deadly|armed|air|missile|drone|rocket|border|naval|"
    r"cross-border|fresh|new|recent|latest|official|formal|diplomatic|de|jure))*[\s-]+$"
)
_COORD_GAP = re.compile(r"^(?:[^,;.]{0,60}?)\s+and\s+(?:(?:the|his|her|its|their)\s+)?$")
MAX_TARGET_DISTANCE = 160
# A name after these is a topic or a venue ("a meeting on Afghanistan in Tehran"), not a
# participant, unless the trigger itself ends with the preposition ("sanctions on", "arrived in")
# or the type takes a place or an object there (PLACE_TYPES, OBJECT_ON_TYPES).
_TOPIC_PREP = re.compile(r"\b(?:on|about|over|regarding|concerning|in|at|inside|near)\s+(?:the\s+)?$", re.I)
# ... also the later items of a list that follows such a preposition ("in Qatar, UAE and Pakistan")
# and "on the sidelines of".
_NOT_PLACE = (
    r"(?!(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March"
    r"|April|May|June|July|August|September|October|November|December)\b)"
)
_TOPIC_LIST = re.compile(
    r"(?:\b(?:on|about|over|regarding|in|at)\s+(?:the\s+)?" + _NOT_PLACE + r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*"
    r"(?:,\s+[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)*(?:,\s*|,?\s+and\s+)|\bsidelines\s+of\s+(?:the\s+)?)$"
)
_IN_AT = re.compile(r"\b(?:in|at|inside|near)\s+(?:the\s+)?$", re.I)
PLACE_TYPES = {"visit", "reduce_relations", "criticize", "seize_power", "provide_aid", "hand_over_embassy"}
SELF_TARGET_REACH = 40  # "took control of Kabul": a domestic act's target follows the trigger closely
OBJECT_ON_TYPES = {"impose_sanctions", "ease_sanctions", "criticize", "armed_clash", "threaten"}
_COORDINATED = re.compile(r"(?:,\s*|\s)and\s+(?:also\s+|then\s+|later\s+|further\s+)?$", re.I)
_CLAUSE_START = re.compile(r"(?:^|[;:]\s|\bthat\s|,\s(?:but|while|although|which|who)\s)")


@dataclass
class RoleAssignment:
    actor: Span
    target: Span
    clarity: float
    actor_end: int  # where the clause between actor and trigger starts (for modality cues)
    passive: bool


def _is_candidate(sp: Span) -> bool:
    return sp.kind in CANDIDATE_KINDS


def _usable(sp: Span) -> bool:
    if sp.kind == "collective":
        return False
    if sp.kind == "anaphor":
        return sp.antecedent is not None
    if sp.kind == "person" and sp.entry is None:
        return sp.title is not None or sp.antecedent is not None
    return True


def _owns_title_after(sp: Span) -> bool:
    return sp.title is not None and sp.title.start >= sp.end


def _left_actor(
    text: str, spans: list[Span], sent_start: int, trig_start: int, adjacent: bool, event_type: str = ""
) -> Span | bool | None:
    """Nearest usable actor before the trigger; False when the subject is collective/unresolved.

    A coordinated verb ("X praised Iran ... and hailed Y") takes the subject of its clause, not
    the nearest name (which is the object of the first verb).
    """
    if not adjacent and _COORDINATED.search(text, max(sent_start, trig_start - 20), trig_start):
        clause_start = sent_start
        for m in _CLAUSE_START.finditer(text, sent_start, trig_start):
            clause_start = m.end()
        for sp in spans:
            if sp.start < clause_start or sp.end > trig_start or not _is_candidate(sp):
                continue
            if (
                sp.kind in ("state", "capital", "demonym", "org", "group")
                and _PLACE_PREP.search(text, max(0, sp.start - 14), sp.start)
                and not _owns_title_after(sp)
            ):
                continue
            return sp if _usable(sp) else False
        return None
    for sp in reversed(spans):
        if sp.end > trig_start or sp.start < sent_start or not _is_candidate(sp):
            continue
        if adjacent:
            if _ADJACENT_GAP.match(text[sp.end : trig_start]) or sp.end == trig_start:
                return sp if _usable(sp) else False
            return None
        if (
            sp.kind in ("state", "capital", "demonym", "org", "group")
            and _PLACE_PREP.search(text, max(0, sp.start - 14), sp.start)
            and not _owns_title_after(sp)
        ):
            continue
        if (
            sp.kind == "capital"
            and event_type in ("meet", "phone_call", "sign_agreement", "cooperate")
            and re.fullmatch(r"[\s-]*", text[sp.end : trig_start])
        ):
            continue  # "the Astana talks": a venue
        if sp.kind == "collective" or not _usable(sp):
            return False
        return sp
    return None


def _right_candidates(
    text: str, spans: list[Span], start: int, sent_end: int, event_type: str | None = None, trig_end: int | None = None
) -> list[Span]:
    stop = _TARGET_STOP.search(text, start, sent_end)
    limit = min(sent_end, stop.start() if stop else sent_end, start + MAX_TARGET_DISTANCE)
    out = []
    for sp in spans:
        if sp.start < start or sp.end > limit or not _is_candidate(sp):
            continue
        if (
            event_type is not None
            and sp.start != trig_end
            and not (trig_end is not None and text[trig_end : sp.start].strip() in ("", "the"))
        ):
            prep = _TOPIC_PREP.search(text, max(0, sp.start - 16), sp.start) or _TOPIC_LIST.search(
                text, max(0, sp.start - 60), sp.start
            )
            if prep:
                in_at = _IN_AT.search(text, max(0, sp.start - 16), sp.start)
                if (in_at and event_type in PLACE_TYPES) or (not in_at and event_type in OBJECT_ON_TYPES):
                    pass
                else:
                    continue
        out.append(sp)
    return out


def _commentator_between(text: str, a: int, b: int) -> bool:
    words = set(re.findall(r"[a-z]+", text[a:b].lower()))
    return bool(words & lexicon().commentators)


def assign_roles(
    text: str,
    spans: list[Span],
    sent_start: int,
    sent_end: int,
    trig_start: int,
    trig_end: int,
    trigger: Trigger,
    symmetric: bool,
) -> RoleAssignment | None:
    trig_text = text[trig_start:trig_end]
    first_word_end = trig_start + (len(trig_text.split()[0]) if trig_text.split() else 0)
    adjacent = trigger.actor_scope == "adjacent"
    clarity = 1.0
    passive = (
        bool(_PASSIVE_BEFORE.search(text, max(sent_start, trig_start - 40), trig_start))
        and re.match(r"\w+(?:ed|en|wn|ne|t)\b", trig_text) is not None
    )
    by = _BY_AFTER.match(text, trig_end, min(sent_end, trig_end + 60))
    if by and (passive or re.match(r"\w+(?:ed|en)\b", trig_text)):
        passive = True
    if adjacent and by:
        passive = True

    if passive:
        if not by:
            return None
        agents = _right_candidates(text, spans, by.end(), sent_end)
        if not agents or not _usable(agents[0]):
            return None
        actor = agents[0]
        subj = _left_actor(text, spans, sent_start, trig_start, False)
        if not subj:
            return None
        target = subj
        clarity *= 0.9
        actor_end = trig_start - 40
    else:
        between = re.search(r"\bbetween\s+", text[trig_start : min(sent_end, trig_end + 12)], re.I)
        if symmetric and between:
            parts = [
                sp
                for sp in _right_candidates(text, spans, trig_start + between.end(), sent_end)
                if not (
                    sp.kind in ("state", "capital", "demonym") and _IN_AT.search(text, max(0, sp.start - 14), sp.start)
                )
            ]
            parts = _distinct(parts)
            if len(parts) < 2 or not all(_usable(p) for p in parts[:2]):
                return None
            actor, target = parts[0], parts[1]
            actor_end = trig_start
        else:
            left = _left_actor(text, spans, sent_start, trig_start, adjacent, trigger.event_type)
            if left is False:
                return None
            rights = _right_candidates(text, spans, first_word_end, sent_end, trigger.event_type, trig_end)
            rights = [r for r in rights if left is None or r is not left]
            if trigger.default_target == "self":
                rights = [r for r in rights if r.start - trig_end <= SELF_TARGET_REACH]
            right = rights[0] if rights else None
            if right is not None and not _usable(right):
                right = None
                if rights and rights[0].kind == "collective":
                    return None
            if trigger.swap:
                left, right = right, left
            if left is None and symmetric and not trigger.swap:
                # "In a phone call with X, Y said ...": the subject follows the opening phrase.
                usable = [r for r in rights if _usable(r)]
                if usable:
                    first = _country(usable[0])
                    other = next((r for r in usable[1:] if _country(r) not in (None, first)), None)
                    if first is not None and other is not None:
                        left, right = other, usable[0]
            if left is None:
                return None
            actor, target = left, right
            actor_end = actor.end if actor.end <= trig_start else trig_start
            if target is None and symmetric:
                # "Iran and Afghanistan held talks": the conjunct before the actor.
                idx = spans.index(actor) if actor in spans else -1
                for sp in reversed(spans[:idx] if idx > 0 else []):
                    if sp.start < sent_start:
                        break
                    if (
                        _is_candidate(sp)
                        and _usable(sp)
                        and _COORD_GAP.match(text[sp.end : actor.start])
                        and sp.resolved is not actor.resolved
                    ):
                        target = sp
                        break
            if target is None and trigger.default_target == "self":
                target = actor
                clarity *= 0.85
            if target is None:
                return None
    if actor is target and trigger.default_target != "self":
        return None
    if _commentator_between(text, sent_start, trig_start):
        return None
    if actor.via == "coref" or target.via == "coref":
        clarity *= 0.85
    return RoleAssignment(actor, target, clarity, max(sent_start, actor_end), passive)


def _country(sp: Span) -> str | None:
    head = sp.resolved
    if head is None:
        return None
    if head.entry is not None:
        return head.entry.country
    t = head.title
    owner = t.owner if t is not None else None
    if isinstance(owner, Span):
        o = owner.resolved
        return o.entry.country if o is not None and o.entry is not None else None
    return None


def _distinct(parts: list[Span]) -> list[Span]:
    """Participants after "between": one per person/body phrase (a title's owner counts once)."""
    out: list[Span] = []
    for p in parts:
        if (
            out
            and p.kind in ("state", "demonym", "capital", "group")
            and out[-1].kind == "person"
            and out[-1].title is not None
            and out[-1].title.owner is p
        ):
            continue
        out.append(p)
    return out
