"""Event mentions from article text: triggers -> actors and roles -> modality, tense, date.

One pass per article: the trigger anchors (one Aho-Corasick automaton, see ``patterns``) are
found in the lower-cased text; only sentences holding an anchor are matched against the trigger
regexes, and only articles with a matching trigger get actor analysis (``actors``), role
assignment (``roles``), modality (``modality``) and a date (``pipeline.text.dates``).

Confidence (documented formula, in [0, 1]):
    confidence = pattern weight (codebook `weight`, 0.6-0.95: how specific the wording is)
               x role clarity (1.0; x0.9 passive with agent; x0.85 when an actor is reached by
                 coreference; x0.85 when the target is the actor's own country by default)
               x date support (explicit or relative date 1.0; publication date 0.95;
                 none/unknown 0.8)
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from pathlib import Path

import polars as pl

from pipeline.cache import SCHEMAS_DIR, TEXT_DIR, source_fingerprint
from pipeline.extract.actors import ArticleActors, resolve
from pipeline.extract.modality import clause_window, modality, tense
from pipeline.extract.patterns import trigger_set
from pipeline.extract.roles import assign_roles
from pipeline.text import dates as dates_mod
from pipeline.text.lexicon import lower_same_length, normalize
from pipeline.text.sentences import split_sentences
from schemas.models import Mention, conform

EXTRACTOR_VERSION = "1.0.0"
DATE_SUPPORT = {"explicit": 1.0, "relative": 1.0, "publication": 0.95, "none": 0.8}
# Same-country pairs are coded only for these types or when the two sides differ in kind
# (the Taliban vs the Afghan state); otherwise "Kazakhstan's MFA said Kazakhstan ..." would read
# as a state acting on itself.
DOMESTIC_TYPES = {"seize_power", "armed_clash"}


def dictionaries_fingerprint() -> str:
    """sha256 over EXTRACTOR_VERSION and every code and data file that shapes a mention: this
    package, the shared text layer (pipeline/text/) and schemas/ (codebook, dictionaries, models).

    The sources are included (beyond the codebook and dictionaries) so that a code change can
    never reuse mentions cached by an older extractor; they are globbed (pipeline.cache), so a new
    module is covered without being listed.
    """
    return source_fingerprint(
        Path(__file__).resolve().parent, TEXT_DIR, SCHEMAS_DIR, salt=f"extractor {EXTRACTOR_VERSION}"
    )


def mention_id(
    article_id: str, char_start: int, char_end: int, event_type: str, actor_name: str, target_name: str | None
) -> str:
    key = f"{article_id}|{char_start}|{char_end}|{event_type}|{actor_name}|{target_name}"
    return "m" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def find_triggers(text: str, norm_lower: str, sentences: list[tuple[int, int]]):
    """(sentence index, trigger, start, end) for every trigger match, overlaps resolved per sentence."""
    ts = trigger_set()
    starts = [s for s, _ in sentences]
    wanted: dict[int, set[int]] = {}
    hits = ts.automaton.iter(" " + norm_lower)  # the leading space lets an anchor match at offset 0
    for end_idx, ks in hits:
        si = bisect.bisect_right(starts, end_idx - 1) - 1
        if si < 0:
            continue
        got = wanted.get(si)
        if got is None:
            wanted[si] = set(ks)
        else:
            got.update(ks)
    out = []
    for si in sorted(wanted):
        s0, s1 = sentences[si]
        sent = text[s0:s1]
        found = []
        for k in sorted(wanted[si]):
            tr = ts.triggers[k]
            if tr.requires is not None and not tr.requires.search(sent):
                continue
            for m in tr.regex.finditer(sent):
                if m.end() > m.start():
                    found.append((tr, s0 + m.start(), s0 + m.end()))
        # Stronger, then longer, patterns win where two triggers overlap.
        found.sort(key=lambda f: (-f[0].weight, -(f[2] - f[1]), f[1]))
        kept: list = []
        for f in found:
            if all(f[2] <= g[1] or f[1] >= g[2] for g in kept):
                kept.append(f)
        for tr, a, b in sorted(kept, key=lambda f: f[1]):
            out.append((si, tr, a, b))
    return out


def _sector_allowed(span, sector: str | None, allowed: frozenset[str]) -> bool:
    """The actor's sector, or any of its dated roles' sectors, is one the type requires."""
    if sector in allowed:
        return True
    head = span.resolved
    entry = head.entry if head is not None else None
    if (
        entry is None
        and head is not None
        and head.title is not None
        and getattr(head.title.owner, "entry", None) is not None
    ):
        entry = head.title.owner.entry
    return entry is not None and any(r.sector in allowed for r in entry.roles)


def _date(sentence: str, span: tuple[int, int], published_at, published_after, is_lead: bool, tense_: str):
    try:
        return dates_mod.date_for_event(sentence, span, published_at, published_after, is_lead=is_lead, tense=tense_)
    except Exception:  # noqa: BLE001 - one bad date expression must not lose the article's events
        return dates_mod.DateInterval(None, published_at, "unknown", "none")


def extract_article(
    article_id: str, text: str, title: str | None, published_at: dt.date | None, published_after: dt.date | None
) -> list[dict]:
    """Mention rows (schemas.models.Mention columns, event_id None) for one article."""
    if not text:
        return []
    sentences = split_sentences(text)
    if not sentences:
        return []
    norm = normalize(text)
    norm_lower = lower_same_length(norm)
    triggers = find_triggers(text, norm_lower, sentences)
    if not triggers:
        return []
    ts = trigger_set()
    # Coreference only looks back, so the text after the last trigger sentence is not analysed.
    upto = sentences[triggers[-1][0]][1]
    actors = ArticleActors(text[:upto], norm[:upto], norm_lower[:upto])
    span_starts = [s.start for s in actors.spans]
    lead_limit = 2 if title is not None else 1  # title = sentence 0, then two body sentences
    rows: dict[str, dict] = {}
    for si, tr, a, b in triggers:
        s0, s1 = sentences[si]
        lo = bisect.bisect_left(span_starts, s0)
        hi = bisect.bisect_left(span_starts, s1)
        sent_spans = actors.spans[lo:hi]
        info = ts.types[tr.event_type]
        roles = assign_roles(text, sent_spans, s0, s1, a, b, tr, info.symmetric)
        if roles is None:
            continue
        sentence = text[s0:s1]
        window = clause_window(sentence, max(0, roles.actor_end - s0), a - s0)
        mod, negated = modality(
            sentence,
            window,
            a - s0,
            refusal=info.refusal,
            negatable=info.negated_as is not None,
            fixed=tr.modality,
            trigger_end=b - s0,
        )
        event_type = info.negated_as if negated else tr.event_type
        tense_ = tense(window, text[a:b], mod)
        interval = _date(sentence, (a - s0, b - s0), published_at, published_after, si <= lead_limit, tense_)
        context = sentence
        actor = resolve(roles.actor, text, interval.start, interval.end, context)
        target = resolve(roles.target, text, interval.start, interval.end, context)
        if actor is None or target is None or actor.name is None:
            continue
        if info.actor_sectors is not None and not _sector_allowed(roles.actor, actor.sector, info.actor_sectors):
            continue
        if tr.default_target == "self" and roles.target is roles.actor:
            target = actor
        elif actor.country == target.country and actor.name == target.name and event_type not in DOMESTIC_TYPES:
            continue
        confidence = tr.weight * roles.clarity * DATE_SUPPORT.get(interval.basis, 0.8)
        mid = mention_id(article_id, s0, s1, event_type, actor.name, target.name)
        row = {
            "mention_id": mid,
            "event_id": None,
            "article_id": article_id,
            "sentence_index": si,
            "char_start": s0,
            "char_end": s1,
            "quote": sentence,
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
            "confidence": round(min(1.0, max(0.0, confidence)), 4),
            "trigger_text": text[a:b],
            "actor_person": actor.person,
            "target_person": target.person,
        }
        if mid not in rows or rows[mid]["confidence"] < row["confidence"]:
            rows[mid] = row
    return list(rows.values())


def extract_articles(articles: pl.DataFrame) -> pl.DataFrame:
    """Mentions for a frame with ArticleText columns (article_id, text, title, published_at, published_after)."""
    rows: list[dict] = []
    cols = ["article_id", "text", "title", "published_at", "published_after"]
    for article_id, text, title, published_at, published_after in articles.select(cols).iter_rows():
        rows.extend(extract_article(article_id, text, title, published_at, published_after))
    if not rows:
        from schemas.models import empty_frame

        return empty_frame(Mention)
    return conform(
        pl.DataFrame(
            rows,
            schema_overrides={
                "event_id": pl.String,
                "date_text": pl.String,
                "date_start": pl.Date,
                "date_end": pl.Date,
                "actor_country": pl.String,
                "actor_sector": pl.String,
                "target_country": pl.String,
                "target_sector": pl.String,
                "actor_person": pl.String,
                "target_person": pl.String,
            },
            infer_schema_length=None,
        ),
        Mention,
    )
