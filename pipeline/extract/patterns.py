"""Trigger patterns from ``schemas/codebook.yaml`` compiled for one pass over a whole article.

Each event type lists `triggers` (regular expressions). Running hundreds of regexes over every
sentence would be slow, and Python's `re` does not turn an alternation into a trie, so each
pattern gets *anchors*: literal strings one of which every match must contain, derived
automatically from the parsed regex (no hand-kept keyword lists that could drift from the
patterns; a pattern may name its own `anchors` when the derived ones are very common words). All
anchors go into one Aho-Corasick automaton; a sentence is matched against a pattern's regex only
when one of that pattern's anchors occurs in it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

try:  # Python 3.11+: the regex parser lives in re._parser
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

import ahocorasick

from pipeline.text.lexicon import normalize
from schemas.codebook import load_codebook

MIN_ANCHOR = 3


@dataclass(frozen=True)
class Trigger:
    event_type: str
    index: int
    regex: re.Pattern
    weight: float
    swap: bool = False
    actor_scope: str = "clause"  # clause | adjacent
    default_target: str | None = None  # self
    modality: str | None = None
    requires: re.Pattern | None = None
    anchors: tuple[str, ...] = ()
    pattern: str = ""


@dataclass(frozen=True)
class TypeInfo:
    symmetric: bool
    refusal: bool
    negated_as: str | None
    actor_sectors: frozenset[str] | None = None


MAX_SET = 64


def _exact(items) -> set[str] | None:
    """The finite set of strings this parsed sequence matches exactly, or None."""
    out = {""}
    for op, av in items:
        if op is sre_c.LITERAL:
            opts = {chr(av)}
        elif op is sre_c.IN and all(o is sre_c.LITERAL for o, _ in av) and len(av) <= 4:
            opts = {chr(v) for _, v in av}
        elif op is sre_c.SUBPATTERN:
            opts = _exact(av[-1])
        elif op is sre_c.BRANCH:
            opts = set()
            for branch in av[1]:
                b = _exact(branch)
                if b is None:
                    return None
                opts |= b
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) and av[1] == 1 and av[0] in (0, 1):
            sub = _exact(av[2])
            opts = None if sub is None else (sub | {""} if av[0] == 0 else sub)
        elif op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
            continue  # zero-width
        else:
            return None
        if opts is None:
            return None
        out = {a + b for a in out for b in opts}
        if len(out) > MAX_SET:
            return None
    return out


def _anchor_set(items) -> set[str] | None:
    """Literal strings one of which any match of this parsed sequence must contain (None: unknown)."""
    best: set[str] | None = None
    seg: set[str] = {""}

    def consider(cands: set[str] | None) -> None:
        nonlocal best
        if not cands or any(len(c.strip()) < MIN_ANCHOR for c in cands):
            return
        if best is None or min(map(len, cands)) > min(map(len, best)):
            best = cands

    for item in items:
        op, av = item
        if op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
            continue
        ex = _exact([item])
        if ex is not None:
            nxt = {a + b for a in seg for b in ex}
            if len(nxt) <= MAX_SET:
                seg = nxt
            else:
                consider(seg)
                seg = ex
            continue
        consider(seg)
        seg = {""}
        if op is sre_c.SUBPATTERN:
            consider(_anchor_set(av[-1]))
        elif op is sre_c.BRANCH:
            union: set[str] = set()
            for branch in av[1]:
                s = _anchor_set(branch)
                if not s:
                    union = set()
                    break
                union |= s
            consider(union)
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) and av[0] >= 1:
            consider(_anchor_set(av[2]))
    consider(seg)
    return best


def anchors_for(pattern: str) -> tuple[str, ...]:
    parsed = sre_parse.parse(pattern.lower())
    found = _anchor_set(list(parsed)) or set()
    found = {a for a in found if len(a.strip()) >= MIN_ANCHOR}
    if not found:
        raise ValueError(
            f"trigger pattern has no literal of {MIN_ANCHOR}+ characters every match must contain: {pattern!r}"
        )
    return tuple(sorted(found))


@dataclass
class TriggerSet:
    triggers: list[Trigger]
    types: dict[str, TypeInfo]
    automaton: ahocorasick.Automaton


@functools.lru_cache(maxsize=1)
def trigger_set() -> TriggerSet:
    cb = load_codebook()
    triggers: list[Trigger] = []
    types: dict[str, TypeInfo] = {}
    for etype, spec in cb.event_types.items():
        types[etype] = TypeInfo(
            bool(spec.get("symmetric")),
            bool(spec.get("refusal")),
            spec.get("negated_as"),
            frozenset(spec["actor_sectors"]) if spec.get("actor_sectors") else None,
        )
        for i, t in enumerate(spec.get("triggers") or []):
            pat = t["pattern"]
            # Word-bounded, never starting inside a hyphenated word ("Taliban-appointed").
            rx = re.compile(r"(?<![\w\-‑])(?:" + pat + r")(?!(?<=\w)\w)", re.IGNORECASE)
            req = t.get("requires")
            triggers.append(
                Trigger(
                    etype,
                    i,
                    rx,
                    float(t.get("weight", 0.8)),
                    bool(t.get("swap", False)),
                    t.get("actor_scope", "clause"),
                    t.get("default_target"),
                    t.get("modality"),
                    re.compile(req, re.IGNORECASE) if req else None,
                    tuple(a.lower() for a in t["anchors"]) if t.get("anchors") else anchors_for(pat),
                    pat,
                )
            )
    # Anchors are matched in the normalised lower-cased text (punctuation -> spaces, see
    # lexicon.normalize); an anchor that starts with a letter must start a word (" recogni...").
    auto = ahocorasick.Automaton()
    by_anchor: dict[str, list[int]] = {}
    for k, tr in enumerate(triggers):
        for a in tr.anchors:
            key = normalize(a)
            key = " " + key.lstrip() if key[:1].isalnum() else key
            by_anchor.setdefault(key, []).append(k)
    for a, ks in by_anchor.items():
        auto.add_word(a, tuple(ks))
    auto.make_automaton()
    return TriggerSet(triggers, types, auto)
