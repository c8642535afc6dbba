"""One parsed sentence -> mention rows: frames matched on its tokens, participants, modality, date.

For every token whose lemma a frame lists (:func:`find_frames`), the frame's conditions are checked
on the parse (its preposition, clause words, object), the modality read (pipeline.extract.modality),
the actor and target slots filled (pipeline.extract.participants), and one row made per
actor x target pair: a multilateral meeting pairs its host with each participant (codebook
section 6), coordination gives one row per participant ("X, Y and Z closed their consulates"),
"a meeting between X and Y" pairs the two. The date is read from the event's own clause only
(:func:`~pipeline.extract.modality.date_scope`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib

from pipeline.extract.confidence import confidence
from pipeline.extract.frames import Frame, frame_set
from pipeline.extract.modality import date_scope, modality, tense_of
from pipeline.extract.participants import (
    Ctx,
    ResolvedActor,
    any_role,
    distinct,
    fill,
    location,
    resolve_span,
    span_country,
    spans_over,
    state_name,
    tok_range,
)
from pipeline.text import dates as dates_mod
from schemas.codebook import load_codebook

# Same-country pairs are coded only for these types or when the two sides differ in kind (the
# Taliban vs the Afghan state); otherwise "Kazakhstan's MFA said Kazakhstan ..." would read as a
# state acting on itself.
DOMESTIC_TYPES = {"seize_power", "armed_clash"}


@functools.lru_cache(maxsize=1)
def types_info() -> dict:
    return dict(load_codebook().event_types)


def mention_id(
    article_id: str,
    char_start: int,
    char_end: int,
    event_type: str,
    actor_name: str,
    target_name: str | None,
    date_start=None,
    date_end=None,
) -> str:
    """One mention per event per sentence: the same act found through two frames (the verb "signed"
    and its noun "deal") is one mention; two acts of one pair on different dates in one sentence
    ("an agreement signed in 1998 and a deal signed in 2001") are two."""
    key = f"{article_id}|{char_start}|{char_end}|{event_type}|{actor_name}|{target_name}"
    if date_start is not None or date_end is not None:
        key += f"|{date_start}|{date_end}"
    return "m" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def check_objects(ctx: Ctx, t: int, frame: Frame, is_noun: bool) -> bool:
    if not frame.objects and not frame.not_objects and frame.object_kind is None:
        return True
    s, g = ctx.sent, ctx.g
    objs = g.objects(t, is_noun)
    lemmas = {s.lemmas[o] for o in objs} | {s.lower(o) for o in objs}
    for o in objs:
        lemmas |= {s.lemmas[k] for k in s.kids[o] if s.deps[k] == "compound"}
    if frame.objects and not (lemmas & frame.objects):
        return False
    if frame.not_objects and (lemmas & frame.not_objects):
        return False
    if frame.object_kind is not None:
        is_person = False
        for o in objs:
            a, b = tok_range(ctx, o)
            sps = spans_over(ctx, a, b)
            if any(
                sp.kind == "person"
                or (
                    sp.kind == "title"
                    and sp.sector in ("GOV", "IGO", "LEG", "MIL")
                    and sp.text.lower()
                    not in ("government", "ministry", "embassy", "administration", "cabinet", "regime")
                )
                for sp in sps
            ) or s.lemmas[o] in ("delegation", "team"):
                is_person = True
        if (frame.object_kind == "person") != is_person:
            return False
    return True


def _embedded_act(ctx: Ctx, comps: list[int], frame: Frame) -> bool:
    """Does the complement of "agreed to X" / "refused to X" carry an act a frame of another type
    codes ("agreed to sign a deal", "agreed to hold a meeting", "refused to recognize")? A frame
    whose context words are absent from the complement does not count ("allow the IAEA to ...")."""
    fs = frame_set()
    s, g = ctx.sent, ctx.g
    for c in comps:
        heads = [c] + [k for k in s.kids[c] if s.deps[k] == "dobj"]
        for h in heads:
            table = fs.verbs if s.pos[h] in ("VERB", "AUX") else fs.nouns
            for fr in table.get(s.lemmas[h], ()):
                if fr.event_type != frame.event_type and (not fr.context or g.clause_lemmas(h) & fr.context):
                    return True
    return False


def _has_modifier(s, t: int, words: frozenset[str]) -> bool:
    """Whether token ``t`` has a modifier (adjective, number, compound) among ``words``, or is the
    object of "of" after a noun among them ("a new round of sanctions", "a wave of sanctions")."""
    if not words:
        return False
    modifiers = [k for k in s.kids[t] if s.deps[k] in ("amod", "nummod", "compound")]
    if any(s.lemmas[k] in words or s.lower(k) in words for k in modifiers):
        return True
    h = s.heads[t]
    if s.deps[t] == "pobj" and s.lower(h) == "of" and s.deps[h] == "prep" and s.heads[h] != h:
        return s.lemmas[s.heads[h]] in words
    return False


def _support_codes_another_type(s, support: int, t: int, frame: Frame) -> bool:
    """Whether the support verb of noun ``t`` has a frame of another type that takes ``t`` as its
    object: then the verb's frame codes the act ("lift/end the sanctions" is ease_sanctions)."""
    return any(
        fr.event_type != frame.event_type and (s.lemmas[t] in fr.objects or s.lower(t) in fr.objects)
        for fr in frame_set().verbs.get(s.lemmas[support], ())
    )


def _not_reflexive(a, b):
    """The pair (a, b), or with "the country" on one side taken as an earlier state when it refers
    back to the other side itself ("Saudi Arabia launched attacks on the country" after "the war
    in Yemen"); None when no earlier state of another country is named. Sides that are different
    entities of one country stay as they are (the Taliban took over the country)."""
    if isinstance(a, str) or isinstance(b, str):
        return a, b
    ra, rb = a.resolved, b.resolved
    if ra is None or rb is None or not (ra is rb or (ra.entry is not None and ra.entry == rb.entry)):
        return a, b
    country = span_country(a)
    for side in (b, a):
        if side.kind == "anaphor" and side.anaphor == "country":
            other = next((e for e in side.earlier if span_country(e) not in (None, country)), None)
            if other is None:
                return None
            moved = dataclasses.replace(side, antecedent=other)
            return (a, moved) if side is b else (moved, b)
    return a, b


def find_frames(ctx: Ctx):
    """(token, frame, is_noun) for every token whose lemma a frame lists."""
    s = ctx.sent
    fs = frame_set()
    for i in range(len(s)):
        lem, low, pos = s.lemmas[i], s.lower(i), s.pos[i]
        if pos == "VERB":
            vl = lem if lem in fs.verbs else fs.verb_forms.get(low)
            for f in fs.verbs.get(vl, ()):
                yield i, f, False
        elif pos in ("NOUN", "PROPN"):
            nl = lem if lem in fs.nouns else fs.noun_forms.get(low)
            if nl is not None:
                for f in fs.nouns[nl]:
                    yield i, f, True
            elif pos == "PROPN" and low in fs.verb_forms:
                for f in fs.verbs[fs.verb_forms[low]]:  # a headline's verb tagged as a name
                    yield i, f, False


def code_sentence(ctx: Ctx, si: int, published_at, published_after, is_lead: bool, article_id: str) -> list[dict]:
    s, g = ctx.sent, ctx.g
    fs = frame_set()
    info = types_info()
    rows = []
    for t, frame, is_noun in find_frames(ctx):
        support = g.support_verb(t, fs.grammar.support_verbs) if is_noun else None
        if frame.needs_support and support is None and not _has_modifier(s, t, frame.or_modifiers):
            continue
        if frame.needs_support and support is not None and _support_codes_another_type(s, support, t, frame):
            continue  # "lift sanctions on X" is the lifting (ease_sanctions), not sanctions imposed
        if frame.prep and not g.preps(t, frame.prep):
            continue
        if frame.context and not (g.clause_lemmas(t) & frame.context):
            continue
        if not check_objects(ctx, t, frame, is_noun):
            continue
        if frame.comp_aux and not any(
            s.lower(k) in frame.comp_aux
            for cmp in g.slot(t, "comp", is_noun=is_noun, support=support)
            for k in s.kids[cmp]
            if s.deps[k] in ("aux", "auxpass")
        ):
            continue  # "said that X must stop" is a demand; "said that X stopped" is not
        if frame.not_comp_types and _embedded_act(ctx, g.slot(t, "comp", is_noun=is_noun, support=support), frame):
            continue  # the embedded act is coded by its own frame ("agreed to sign", "refused to recognize")
        mod, negated = modality(ctx, t, is_noun, support, frame)
        if mod is None:
            continue
        spec = info[frame.event_type]
        event_type = frame.event_type
        if frame.negated_only:
            if not negated:
                continue
            mod = "asserted"
        elif negated == "refused":
            # A refusal is its own type (codebook section 2): "refused to recognize" is the type's
            # refusal (refuse_recognition), "refused to meet X" a rejection of X.
            event_type, mod = (
                spec.get("negated_as") or ("reject" if not spec.get("refusal") else event_type),
                "asserted",
            )
        elif negated:
            pred_v = support if support is not None else t
            past = tense_of(ctx, pred_v, mod) in ("past", "perfect")
            if spec.get("negated_as") and not past:
                # "does not / will not recognize" is a refusal; "has not recognized" reports that
                # something did not happen (denied).
                event_type, mod = spec["negated_as"], "asserted"
            elif spec.get("refusal"):
                mod = "asserted"
            else:
                mod = "denied"
        actors, aslot = fill(ctx, t, frame.actor, is_noun, support, set())
        symmetric = bool(spec.get("symmetric"))
        if not actors and not (symmetric and aslot != "stop"):
            continue
        targets, tslot = fill(ctx, t, frame.target, is_noun, support, set())
        actors, targets = distinct(actors), distinct(targets)
        loc_name, loc_country = location(ctx, t, support)
        pairs: list[tuple] = []  # (actor span or 'host', target span or 'self')
        if tslot == "self":
            pairs = [(a, "self") for a in actors]
        elif symmetric and not actors and len(targets) >= 2 and tslot == "between":
            # "a meeting between X and Y"
            first = span_country(targets[0])
            other = next((t2 for t2 in targets[1:] if span_country(t2) != first), targets[1])
            pairs = [(targets[0], other)]
        elif targets:
            pairs = [(a, b) for a in actors for b in targets]
        elif symmetric and len(actors) == 1:
            # "in a call initiated by X, Y said": every slot names a participant of a symmetric act
            others = []
            for slot in frame.actor + frame.target:
                if slot in ("self",):
                    continue
                got, _sl = fill(ctx, t, (slot,), is_noun, support, set())
                others += [o for o in got if span_country(o) not in (None, span_country(actors[0]))]
            if others:
                pairs = [(actors[0], others[0])]
        elif symmetric and len(actors) >= 2:
            # Two sides are a bilateral meeting wherever it is held ("Iran and Russia held talks
            # in Brussels" is not Belgium's); from three on it is multilateral and pairs its host
            # with each participant (codebook section 6).
            if len(actors) == 2:
                pairs = [(actors[0], actors[1])]
            elif frame.host and loc_country is not None:
                pairs = [("host", a) for a in actors]
        elif symmetric and frame.host and loc_country is not None:
            pairs = [("host", a) for a in actors]
        if frame.reciprocal:
            if not targets and len(actors) == 2:
                pairs = [(actors[0], actors[1])]
            pairs = pairs + [(b_, a_) for a_, b_ in pairs if a_ != "host" and b_ not in ("self", "host")]
        if event_type in DOMESTIC_TYPES:
            # Elsewhere a side acting on itself is dropped below; here it would be kept.
            pairs = [p for p in (_not_reflexive(a_, b_) for a_, b_ in pairs) if p is not None]
        if not pairs:
            continue
        a0 = s.idx[t]
        b0 = s.end(t)
        pred = support if support is not None else t
        tense_ = tense_of(ctx, pred, mod)
        sentence = ctx.text[ctx.q0 : ctx.q1]
        scoped, main_clause = date_scope(ctx, t, is_noun, support)
        off = ctx.s0 - ctx.q0
        try:
            interval = dates_mod.date_for_event(
                scoped,
                (a0 + off, b0 + off),
                published_at,
                published_after,
                is_lead=is_lead and main_clause,
                tense=tense_,
            )
        except Exception:  # noqa: BLE001 - one bad date expression must not lose the sentence's events
            interval = dates_mod.DateInterval(None, published_at, "unknown", "none")
        for a_sp, b_sp in pairs:
            if a_sp == "host":
                actor = ResolvedActor(loc_name or "", state_name(loc_country), loc_country, "GOV", "name")
            else:
                actor = resolve_span(a_sp, ctx.text, interval.start, interval.end, sentence)
            target = actor if b_sp == "self" else resolve_span(b_sp, ctx.text, interval.start, interval.end, sentence)
            if actor is None or target is None or actor.name is None or target.name is None:
                continue
            if actor.country == target.country and actor.name == target.name and event_type not in DOMESTIC_TYPES:
                continue
            allowed = spec.get("actor_sectors")
            if allowed and actor.sector not in allowed and not (a_sp != "host" and any_role(a_sp, allowed)):
                continue
            s0, s1 = ctx.q0, ctx.q1
            features = {
                "frame_weight": frame.weight,
                "noun_trigger": float(is_noun),
                "actor_slot": aslot,
                "target_slot": tslot,
                "actor_via": actor.via,
                "target_via": target.via,
                "host": float(a_sp == "host"),
                "pairs": float(len(pairs)),
                "modality": mod,
                "date_basis": interval.basis,
                "tokens": float(len(s)),
                "same_country": float(actor.country == target.country),
                "actor_person": float(actor.person is not None),
            }
            rows.append(
                {
                    "mention_id": mention_id(
                        article_id, s0, s1, event_type, actor.name, target.name, interval.start, interval.end
                    ),
                    "event_id": None,
                    "article_id": article_id,
                    "sentence_index": si,
                    "char_start": s0,
                    "char_end": s1,
                    "quote": ctx.text[s0:s1],
                    "event_type": event_type,
                    "modality": mod,
                    "actor_text": actor.text,
                    "actor_name": actor.name,
                    "actor_country": actor.country,
                    "actor_sector": actor.sector,
                    "target_text": target.text,
                    "target_name": target.name,
                    "target_country": target.country,
                    "target_sector": target.sector,
                    "date_text": interval.text,
                    "date_start": interval.start,
                    "date_end": interval.end,
                    "date_precision": interval.precision,
                    "date_basis": interval.basis,
                    "confidence": confidence(features),
                    "trigger_text": s.words[t],
                    "actor_person": actor.person,
                    "target_person": target.person,
                    "location_name": loc_name,
                    "location_country": loc_country,
                    "frame": frame.name,
                    "features": features,
                }
            )
    return rows
