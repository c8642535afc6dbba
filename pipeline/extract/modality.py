"""Modality (asserted, planned, denied, hypothetical) and tense of a trigger, from cue words.

Cues are data (``schemas/dictionaries/modality.yaml``). They are looked for in the clause before
the trigger: from the actor (or the last clause break) to the trigger, so that a negation or a
"may" that belongs to another verb of the sentence does not leak in. A question, "if" or
"whether" anywhere before the trigger makes it hypothetical. For refusal types (`refusal: true`
in the codebook) negation is part of the meaning, so the row stays asserted; a negated trigger of
a type with `negated_as` becomes that type ("does not recognize" -> refuse_recognition), while a
negated report of a past act ("has not recognized") stays the type, denied.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from pipeline.text.lexicon import load_modality

_CLAUSE_BREAK = re.compile(
    r"[;:«»“”\"]|,\s(?:but|while|although|though|whereas|and|which|who)\b|\b(?:that|said|says|adding|stressing|noting)\s"
)
# A nominal trigger followed by a future ("the meeting will be held next week").
_FUTURE_AFTER = re.compile(
    r"(?:\s+\w+){0,3}?\s+(?:will|is to|are to|is set to|are set to|is scheduled to|are scheduled to|is "
    r"expected to|are expected to)\s+(?:be\s+)?(?:held|take place|convene|start|begin|open)\b",
    re.I,
)
IRREGULAR_PAST = {
    "met",
    "held",
    "took",
    "sent",
    "gave",
    "struck",
    "broke",
    "fought",
    "spoke",
    "came",
    "led",
    "rang",
    "made",
    "put",
    "cut",
    "signed",
    "seized",
    "won",
    "sat",
    "froze",
    "overran",
    "shut",
    "began",
}


@dataclass(frozen=True)
class Cues:
    denied: re.Pattern
    hypothetical: re.Pattern
    planned: re.Pattern
    refusal: re.Pattern
    infinitive_asserted: re.Pattern
    future: re.Pattern
    perfect: re.Pattern
    past_aux: re.Pattern


def _alt(words: list[str], tail: str = "") -> re.Pattern:
    return re.compile(r"(?<![\w'’])(?:" + "|".join(words) + r")(?![\w])" + tail, re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def cues() -> Cues:
    m = load_modality()
    t = m["tense"]
    return Cues(
        _alt(m["denied"]),
        _alt(m["hypothetical"]),
        _alt(m["planned"]),
        _alt(m["refusal"]),
        _alt(m["infinitive_asserted"]),
        re.compile(r"(?<![\w'’])(?:" + "|".join(t["future"]) + r")\s+(?:\w+ly\s+|also\s+|not\s+|soon\s+)*$", re.I),
        re.compile(
            r"(?<![\w'’])(?:" + "|".join(t["perfect"]) + r")\s+(?:\w+ly\s+|also\s+|not\s+|now\s+|just\s+)*$", re.I
        ),
        re.compile(r"(?<![\w'’])(?:" + "|".join(t["past_aux"]) + r")\s+(?:\w+ly\s+|also\s+|not\s+)*$", re.I),
    )


def clause_window(sentence: str, left: int, trigger_start: int) -> str:
    """The words from ``left`` (end of the actor, or 0) to the trigger, cut at the last clause break."""
    window = sentence[left:trigger_start]
    last = None
    for m in _CLAUSE_BREAK.finditer(window):
        last = m
    if last is not None:
        window = window[last.end() :]
    return window


def modality(
    sentence: str,
    window: str,
    trigger_start: int,
    *,
    refusal: bool,
    negatable: bool,
    fixed: str | None = None,
    trigger_end: int | None = None,
) -> tuple[str, bool]:
    """(modality, negated_refusal). ``window`` is the clause before the trigger.

    Hedges are also looked for before the actor in the same clause ("We hope the EU will send").
    """
    c = cues()
    before = sentence[:trigger_start]
    clause = clause_window(sentence, 0, trigger_start)
    if fixed:
        return fixed, False
    if c.refusal.search(window) and (refusal or negatable):
        return "asserted", negatable and not refusal
    if not refusal and c.denied.search(window):
        return "denied", False
    if (
        sentence.rstrip().endswith("?")
        or re.search(r"\b(?:if|whether|unless)\b", before, re.I)
        or c.hypothetical.search(window)
        or c.hypothetical.search(clause)
    ):
        return "hypothetical", False
    if c.planned.search(window) or _FUTURE_AFTER.match(
        sentence, trigger_end if trigger_end is not None else trigger_start
    ):
        return "planned", False
    inf = re.search(
        r"\bto\s+(?:\w+ly\s+)?(?:(?:pay|make|hold|conduct|take|give|have)\s+(?:a\s+|an\s+)?(?:\w+\s+)?)?$", window
    )
    if (
        inf
        and not re.search(r"\bto\s+have\s+$", window)
        and not c.infinitive_asserted.search(window[max(0, inf.start() - 40) : inf.start()])
    ):
        return "planned", False
    return "asserted", False


def tense(window: str, trigger_text: str, modality_: str) -> str:
    """past | present | perfect | future | unknown (for the date module)."""
    c = cues()
    first = trigger_text.split()[0].lower() if trigger_text.split() else ""
    if modality_ == "planned" or c.future.search(window):
        return "future"
    if c.perfect.search(window):
        return "perfect"
    if c.past_aux.search(window):
        return "past"
    if first.endswith("ed") or first in IRREGULAR_PAST:
        return "past"
    if first.endswith("s") and not first.endswith("ss"):
        return "present"
    if first.endswith("ing") or first.endswith("ion") or first in {"talks", "meeting", "visit"}:
        return "unknown"
    return "present" if window.strip() else "unknown"
