"""Modality and tense from the grammar (codebook section 2), and the clause that dates an act.

Cues are data (``schemas/dictionaries/modality.yaml``). The trigger's own auxiliaries and negation
come first ("will visit": planned; "may visit": hypothetical; "did not visit": negated), then the
words that govern it, walking up the parse: a plan, agreement or invitation ("agreed to meet",
"plans a visit": planned), a hope or condition ("hopes to sign", "if they meet": hypothetical), a
cancellation or refusal ("cancelled the visit": denied; "refused to recognize": negated), an
allegation (its content is not an event: dropped); reporting verbs ("said", "announced") pass
the embedded act's modality through, and a retrospective phrase ("after recent trips to X") keeps
its own time. A nominal trigger's modifiers count too ("the upcoming visit").
"""

from __future__ import annotations

import functools

from pipeline.extract.frames import Frame
from pipeline.extract.participants import CALENDAR_WORDS, Ctx
from pipeline.text.lexicon import load_modality

# A plan's object in a prepositional phrase: "agreed on / to talks", "plans for a visit"; a phrase of
# place or time is not its object ("agreed in a telephone call").
PLAN_PREPS = frozenset({"to", "on", "upon", "for"})


@functools.lru_cache(maxsize=1)
def cues() -> dict:
    m = load_modality()
    return {
        "gov": {k: frozenset(v) for k, v in m["governors"].items()},
        "aux_planned": frozenset(m["aux"]["planned"]),
        "aux_hyp": frozenset(m["aux"]["hypothetical"]),
        "neg": frozenset(m["negation"]),
        "nmod": {k: frozenset(v) for k, v in m["noun_modifiers"].items()},
        "cond": frozenset(m["conditional_marks"]),
        "purpose_motion": frozenset(m["purpose_motion_verbs"]),
    }


def modality(ctx: Ctx, t: int, is_noun: bool, support: int | None, frame: Frame) -> tuple[str | None, str | None]:
    """(modality, or None when the act is not an event at all; negation: None, "not" (the act is
    negated: "did not meet", "does not recognize") or "refused" ("refused to meet"))."""
    s = ctx.sent
    c = cues()
    GOV, NEG, NMOD, COND = c["gov"], c["neg"], c["nmod"], c["cond"]
    AUX_PLANNED, AUX_HYP = c["aux_planned"], c["aux_hyp"]
    if frame.modality:
        return frame.modality, None
    negated = False
    refused = False
    mod = "asserted"
    pred = support if (is_noun and support is not None) else t
    hyp = planned = denied = False

    def own(v: int) -> None:
        nonlocal negated, hyp, planned
        auxes = [s.lower(k) for k in s.kids[v] if s.deps[k] in ("aux", "auxpass")]
        if any(k in NEG for k in (s.lower(k) for k in s.kids[v] if s.deps[k] == "neg")):
            negated = True
        if any(a in AUX_HYP for a in auxes):
            hyp = True
        elif any(a in AUX_PLANNED for a in auxes):
            if "would" in auxes and "have" in auxes:
                hyp = True
            else:
                planned = True
        for k in s.kids[v]:
            if s.deps[k] == "mark" and s.lower(k) in COND:
                hyp = True
            # "If talks go well, Egypt signs ...": a condition clause makes the main act conditional.
            if s.deps[k] == "advcl" and any(s.deps[j] == "mark" and s.lower(j) in COND for j in s.kids[k]):
                hyp = True

    if is_noun:
        for k in s.kids[t]:
            w = s.lower(k)
            if s.deps[k] in ("amod", "compound", "nmod"):
                if w in NMOD["planned"] or s.lemmas[k] in NMOD["planned"]:
                    planned = True
                elif w in NMOD["hypothetical"]:
                    hyp = True
                elif w in NMOD["denied"]:
                    denied = True
            if s.deps[k] == "neg" or (w == "no" and s.deps[k] == "det"):
                negated = True
        h = s.heads[t]
        if s.deps[t] in ("nsubj", "nsubjpass") and h != t:
            own(h)  # "the meeting will be held"
    v = pred
    own(v)
    if is_noun and support is not None:
        # The support verb itself may plan, cancel or hope for the act ("cancelled its visit",
        # "plans a visit", "seeks talks").
        lem = s.lemmas[support]
        if lem in GOV["denied"]:
            denied = True
        elif lem in GOV["hypothetical"]:
            hyp = True
        elif lem in GOV["planned"]:
            planned = True
    # Walk up through governors.
    x = v if not is_noun or support is not None else t
    for _ in range(6):
        h = s.heads[x]
        dep = s.deps[x]
        if h == x:
            # An infinitive headline ("Kazakhstan to exclude Taliban"): planned.
            if s.tags[x] == "VB" and any(s.lower(k) == "to" and s.deps[k] == "aux" for k in s.kids[x]):
                planned = True
            break
        lem = s.lemmas[h]
        if dep in ("ccomp", "xcomp") and any(
            s.deps[k] in ("nsubj", "nsubjpass") and s.lemmas[k] in GOV["commentators"] for k in s.kids[h]
        ):
            return None, None  # "analysts argued that ...", "experts believe ...": opinion, not an event
        if dep in (
            "xcomp",
            "ccomp",
            "acl",
            "advcl",
            "dobj",
            "pobj",
            "nsubjpass",
            "relcl",
            "conj",
            "prep",
            "pcomp",
            "agent",
        ):
            if dep == "conj":
                x = h
                continue
            if dep == "relcl":
                break
            if lem in GOV["refusal"] and dep in ("xcomp", "ccomp", "dobj", "acl"):
                refused = True  # "refused to meet": a refusal (reject), not a report that it did not happen
                break
            if lem in GOV["denied"] and dep in ("xcomp", "ccomp", "dobj", "acl"):
                denied = True
                break
            if lem in GOV["drop"] and dep in ("ccomp", "xcomp", "dobj", "acl"):
                return None, None
            if (
                dep in ("xcomp", "acl", "dobj")
                and lem in GOV["factive_nouns"]
                and s.pos[h] in ("NOUN", "ADJ", "NUM", "PROPN")
            ):
                break
            if lem in GOV["hypothetical"] and dep in ("xcomp", "ccomp", "acl", "dobj", "advcl", "prep"):
                hyp = True  # "hopes to meet", "committed to cooperating", "the importance of expanding ties"
                break
            if lem in GOV["planned"] and (
                dep in ("xcomp", "ccomp", "acl", "dobj", "advcl") or (dep == "prep" and s.lower(x) in PLAN_PREPS)
            ):
                planned = True
                own(h)
                break
            if dep == "advcl" and any(s.lower(k) == "to" and s.deps[k] == "aux" for k in s.kids[x]):
                planned = True  # purpose: "arrived ... to hold talks"
                break
            if (
                dep == "acl"
                and s.pos[h] in ("NOUN", "PROPN")
                and any(s.lower(k) == "to" and s.deps[k] == "aux" for k in s.kids[x])
            ):
                # what a deal or a document is for: "a deal to restore ties", "documents to expand cooperation"
                hyp = True
                break
            if lem in GOV["reporting"] and dep in ("ccomp", "xcomp"):
                # the reporter's own negation or modal does not reach the act
                x = h
                continue
            if dep == "xcomp":
                if lem == "be" and s.tags[x] == "VB":
                    planned = True  # "was to visit", "is to sign"
                own(h)  # "should keep collaborating", "will continue to cooperate"
                x = h
                continue
            if dep == "pobj" and s.lower(h) in ("after", "since", "following", "before", "despite"):
                break  # "after recent trips to X": its own time, not the governing clause's
            if dep == "pobj" and s.lower(h) == "for" and s.lemmas[s.heads[h]] in c["purpose_motion"]:
                planned = True  # "left Tehran for talks with Chinese officials"
                break
            if dep in ("prep", "pobj", "pcomp", "agent"):
                x = h
                if s.pos[h] in ("VERB", "AUX"):
                    own(h)  # "will arrive ... for an official visit", "will discuss during his visit"
                continue
            break
        break
    if s.text.rstrip().endswith("?"):
        hyp = True
    if denied:
        mod = "denied"
    elif hyp:
        mod = "hypothetical"
    elif planned:
        mod = "planned"
    return mod, "refused" if refused else "not" if negated else None


# Prepositions whose object is another occurrence the act is placed against.
ANCHOR_PREPS = frozenset({"after", "before", "following", "since", "despite", "amid", "until"})


def date_scope(ctx: Ctx, t: int, is_noun: bool, support: int | None) -> tuple[str, bool]:
    """The quoted sentence with every word outside the event's clause blanked (same offsets), so
    that a date belonging to another clause ("since the Taliban took power", "In September, X
    announced ...") is not read as this event's date. The clause of an act reported or announced
    ("In September, China announced it would appoint") includes the report's date. Also says
    whether that clause is the sentence's main clause (only a main clause's act can be the news of
    the day a lead sentence reports)."""
    s, g = ctx.sent, ctx.g
    GOV = cues()["gov"]
    p = support if support is not None else t
    if is_noun and support is None:
        fv = g.frame_verb(t)
        if fv is not None:
            p = fv
    x = p
    for _ in range(5):
        h = s.heads[x]
        if h == x:
            break
        dep = s.deps[x]
        lem = s.lemmas[h]
        if dep in ("ccomp", "xcomp", "acl", "attr", "dobj", "pobj", "prep", "pcomp", "nsubj", "nsubjpass", "conj") and (
            lem in GOV["reporting"] or lem == "be" or lem in GOV["planned"] or s.pos[h] in ("NOUN", "PROPN", "ADP")
        ):
            x = h
            continue
        break
    keep = set(s.subtree(x))
    for d in list(keep):
        if (
            d != x
            and s.deps[d] in ("advcl", "relcl", "acl")
            and s.heads[d] != t  # the trigger noun's own clause dates it ("an agreement signed in 1998")
            and t not in s.subtree(d)
            and p not in s.subtree(d)
        ):
            keep -= set(s.subtree(d))
    for d in list(keep):
        # "cut ties after an attack on its embassy on January 2": the date of another act that this
        # one followed or preceded, not its own.
        if (
            s.deps[d] == "prep"
            and s.lower(d) in ANCHOR_PREPS
            and d in keep
            and t not in s.subtree(d)
            and p not in s.subtree(d)
        ):
            keep -= set(s.subtree(d))
    h = s.heads[x]
    if s.deps[x] in ("relcl", "advcl") and h != x and (s.pos[h] == "NUM" or s.lower(h) in CALENDAR_WORDS):
        # "In 2021, when the Taliban seized power": the clause describes that date.
        keep |= {h, *(k for k in s.kids[h] if s.deps[k] in ("nummod", "compound", "amod"))}
    main = s.heads[x] == x or (s.deps[x] == "conj" and s.heads[s.heads[x]] == s.heads[x])
    quote = ctx.text[ctx.q0 : ctx.q1]
    chars = [" "] * len(quote)
    off = ctx.s0 - ctx.q0
    for i in keep:
        a = s.idx[i] + off
        for j, ch in enumerate(s.words[i]):
            if 0 <= a + j < len(chars):
                chars[a + j] = ch
    return "".join(chars), main


def tense_of(ctx: Ctx, v: int, mod: str) -> str:
    s = ctx.sent
    if mod == "planned":
        return "future"
    auxes = [s.lower(k) for k in s.kids[v] if s.deps[k] in ("aux", "auxpass")]
    if any(a in ("has", "have", "had", "'s") for a in auxes):
        return "perfect"
    if any(a in ("was", "were", "did") for a in auxes) or s.tags[v] == "VBD":
        return "past"
    if s.tags[v] in ("VBZ", "VBP"):
        # "Rouhani said Iran welcomes the efforts": the present of reported speech is the time of
        # the report, which is past; it is not bounded below by the article's publication bound.
        if s.deps[v] == "ccomp" and s.heads[v] != v and s.tags[s.heads[v]] == "VBD":
            return "past"
        return "present"
    return "unknown"
