"""Event frames (the `frames` of each type in ``schemas/codebook.yaml``) compiled for the coder.

A frame names trigger lemmas, conditions on the trigger's object and clause, and the grammatical
slots that give the actor and the target (the codebook's header documents every key). This module
checks the data when it loads (an unknown key or slot is an error, not a silent no-match), builds
the lemma -> frames tables the coder looks trigger tokens up in, and the parse gate: per frame, the
surface forms of its lemmas and of its condition words, so that a sentence is parsed only when some
frame could match in it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, fields

from pipeline.text.lexicon import DICT_DIR
from schemas.codebook import load_codebook, load_yaml

SLOT = re.compile(r"^[a-z_]+(?:>[a-z_]+)*$")


@dataclass(frozen=True)
class Frame:
    event_type: str
    index: int
    pos: str  # verb | noun
    lemmas: frozenset[str]
    actor: tuple[str, ...]
    target: tuple[str, ...]
    weight: float
    objects: frozenset[str] = frozenset()
    not_objects: frozenset[str] = frozenset()
    context: frozenset[str] = frozenset()
    prep: str | None = None
    host: tuple[str, ...] = ()
    modality: str | None = None
    negated_only: bool = False
    object_kind: str | None = None  # person | not_person
    not_comp_types: bool = False
    comp_aux: frozenset[str] = frozenset()
    reciprocal: bool = False
    needs_support: bool = False
    or_modifiers: frozenset[str] = frozenset()  # a needs_support noun with one of these needs no verb

    @property
    def name(self) -> str:
        return f"{self.event_type}#{self.index}"


# The keys a frame may have in the codebook: its dataclass fields, with the lemmas as verbs or nouns.
FRAME_KEYS = {"verbs", "nouns"} | {f.name for f in fields(Frame)} - {"event_type", "index", "pos", "lemmas"}


@dataclass(frozen=True)
class Grammar:
    """The word lists of ``schemas/dictionaries/grammar.yaml``."""

    support_verbs: frozenset[str]
    bearer_nouns: frozenset[str]
    irregular: dict[str, list[str]]
    object_control: frozenset[str]
    frame_preps: frozenset[str]
    pronouns: frozenset[str]
    pair_nouns: frozenset[str]


@dataclass(frozen=True)
class FrameSet:
    verbs: dict[str, tuple[Frame, ...]]
    nouns: dict[str, tuple[Frame, ...]]
    grammar: Grammar
    verb_forms: dict[str, str]  # surface form -> verb lemma
    noun_forms: dict[str, str]  # surface form -> noun lemma
    # The parse gate: trigger form -> frame ids, condition word form -> frame ids, and the ids of
    # frames that need a condition word besides a trigger.
    gate_triggers: dict[str, frozenset[int]]
    gate_conditions: dict[str, frozenset[int]]
    needs_condition: frozenset[int]


def verb_forms(lemma: str, irregular: dict[str, list[str]]) -> set[str]:
    """The inflected forms of a verb: -s/-es/-ies, -ed/-d/-ied, -ing (e dropped, final consonant
    doubled or not: a gate loses nothing by listing a form English does not use), irregulars."""
    forms = {lemma}
    if lemma.endswith("e"):
        forms |= {lemma + "s", lemma + "d", lemma[:-1] + "ing"}
    elif lemma.endswith(("s", "sh", "ch", "x", "z")):
        forms |= {lemma + "es", lemma + "ed", lemma + "ing"}
    elif lemma.endswith("y") and len(lemma) > 2 and lemma[-2] not in "aeiou":
        forms |= {lemma[:-1] + "ies", lemma[:-1] + "ied", lemma + "ing"}
    else:
        forms |= {lemma + "s", lemma + "ed", lemma + "ing"}
        if len(lemma) >= 3 and lemma[-1] not in "aeiouwxy" and lemma[-2] in "aeiou" and lemma[-3] not in "aeiou":
            forms |= {lemma + lemma[-1] + "ed", lemma + lemma[-1] + "ing"}
    return forms | set(irregular.get(lemma, []))


def noun_forms(lemma: str) -> set[str]:
    if lemma.endswith(("s", "sh", "ch", "x", "z")):
        return {lemma, lemma + "es"}
    if lemma.endswith("y") and len(lemma) > 2 and lemma[-2] not in "aeiou":
        return {lemma, lemma[:-1] + "ies"}
    return {lemma, lemma + "s"}


def _words(values) -> frozenset[str]:
    return frozenset(str(w).lower() for w in values or [])


def _frame(event_type: str, i: int, f: dict) -> Frame:
    unknown = set(f) - FRAME_KEYS
    if unknown:
        raise ValueError(f"codebook: {event_type} frame {i} has unknown keys {sorted(unknown)}")
    if ("verbs" in f) == ("nouns" in f):
        raise ValueError(f"codebook: {event_type} frame {i} needs exactly one of verbs / nouns")
    for key in ("actor", "target", "host"):
        for slot in f.get(key, []):
            if not isinstance(slot, str) or not SLOT.match(slot):
                raise ValueError(f"codebook: {event_type} frame {i}: bad {key} slot {slot!r} (quote 'on', 'off')")
    if not f.get("actor") or not f.get("target"):
        raise ValueError(f"codebook: {event_type} frame {i} needs actor and target slots")
    pos = "verb" if "verbs" in f else "noun"
    return Frame(
        event_type,
        i,
        pos,
        _words(f["verbs"] if pos == "verb" else f["nouns"]),
        tuple(f["actor"]),
        tuple(f["target"]),
        float(f.get("weight", 0.8)),
        _words(f.get("objects")),
        _words(f.get("not_objects")),
        _words(f.get("context")),
        f.get("prep"),
        tuple(f.get("host", [])),
        f.get("modality"),
        bool(f.get("negated_only")),
        f.get("object_kind"),
        bool(f.get("not_comp_types")),
        _words(f.get("comp_aux")),
        bool(f.get("reciprocal")),
        bool(f.get("needs_support")),
        _words(f.get("or_modifiers")),
    )


def _with_singulars(words: frozenset[str]) -> frozenset[str]:
    """Plural list entries also as the lemma the parser gives ("officials" -> "official")."""
    out = set(words)
    for w in words:
        if w.endswith("ies"):
            out.add(w[:-3] + "y")
        elif w.endswith("s") and not w.endswith("ss"):
            out.add(w[:-1])
    return frozenset(out)


@functools.lru_cache(maxsize=1)
def grammar_words() -> Grammar:
    data = load_yaml((DICT_DIR / "grammar.yaml").read_text(encoding="utf-8"))
    return Grammar(
        _words(data["support_verbs"]),
        _with_singulars(_words(data["bearer_nouns"])),
        {k: list(v) for k, v in (data.get("irregular_forms") or {}).items()},
        _words(data["object_control_verbs"]),
        _words(data["frame_prepositions"]),
        _words(data["pronouns"]),
        _words(data["pair_nouns"]),
    )


@functools.lru_cache(maxsize=1)
def frame_set() -> FrameSet:
    cb = load_codebook()
    gram = grammar_words()
    frames: list[Frame] = []
    for etype, spec in cb.event_types.items():
        frames += [_frame(etype, i, f) for i, f in enumerate(spec.get("frames") or [])]
    verbs: dict[str, list[Frame]] = {}
    nouns: dict[str, list[Frame]] = {}
    for fr in frames:
        for lem in fr.lemmas:
            (verbs if fr.pos == "verb" else nouns).setdefault(lem, []).append(fr)
    v_forms: dict[str, str] = {}
    for lem in sorted(verbs):
        for form in verb_forms(lem, gram.irregular):
            v_forms.setdefault(form, lem)
    n_forms: dict[str, str] = {}
    for lem in sorted(nouns):
        for form in noun_forms(lem):
            n_forms.setdefault(form, lem)
    # The gate, per frame: a form of one of its lemmas and, when the frame has a context, object
    # or auxiliary condition, a form of one of those words too. Both are necessary for a match, so
    # the gate loses nothing a frame could find; it keeps 0.21 of the corpus's words for the parser
    # where a gate on trigger forms alone kept 0.54 (measured on 1,000 Tehran Times articles).
    trig: dict[str, set[int]] = {}
    cond: dict[str, set[int]] = {}
    for i, fr in enumerate(frames):
        for lem in fr.lemmas:
            for form in verb_forms(lem, gram.irregular) if fr.pos == "verb" else noun_forms(lem):
                trig.setdefault(form, set()).add(i)
        for w in fr.context | fr.objects | fr.comp_aux:
            for form in noun_forms(w) | verb_forms(w, gram.irregular):
                cond.setdefault(form, set()).add(i)
    needs = frozenset(i for i, fr in enumerate(frames) if fr.context or fr.objects or fr.comp_aux)
    return FrameSet(
        {k: tuple(v) for k, v in verbs.items()},
        {k: tuple(v) for k, v in nouns.items()},
        gram,
        v_forms,
        n_forms,
        {k: frozenset(v) for k, v in trig.items()},
        {k: frozenset(v) for k, v in cond.items()},
        needs,
    )
