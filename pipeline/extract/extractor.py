"""Event mentions from article text, in three steps that each run over many articles at once:

1. **Gate** (:func:`find_candidates`): split the text into sentences and keep those where some
   frame could match (a form of its trigger lemma and, if it has one, of its condition word: see
   pipeline.extract.frames) and that name at least two possible participants (a name, or a name and
   a title or pronoun). A repeated sentence is kept once: it is one mention, not several.
2. **Parse** (pipeline.extract.parse): each distinct candidate sentence once, or not at all when the
   parse cache holds it (keyed by the sentence's text and the model).
3. **Code** (:func:`code_articles`): the article's names, titles and pronouns are resolved in
   reading order (pipeline.extract.actors), then every candidate sentence is coded from its parse
   (pipeline.extract.coder).

The steps are split so that the parse, the expensive one (about 0.9 of the coder's time), runs
once per distinct sentence of the whole build and can be fanned out over processes on its own
(pipeline.extract.cache).
"""

from __future__ import annotations

import bisect
import functools
import re
import time
from pathlib import Path

import ahocorasick
import polars as pl

from pipeline.cache import SCHEMAS_DIR, TEXT_DIR, source_fingerprint
from pipeline.extract import budget
from pipeline.extract.actors import ENTITY_KINDS, ArticleActors, find_spans
from pipeline.extract.budget import longest_sentence
from pipeline.extract.coder import code_sentence
from pipeline.extract.frames import frame_set
from pipeline.extract.parse import PARSE_SCHEMA, parse_texts, sentence_key, sents_from_rows
from pipeline.extract.participants import Ctx
from pipeline.extract.slots import Slots
from pipeline.text.lexicon import lower_same_length, normalize
from pipeline.text.sentences import split_sentences
from schemas.models import Mention, conform, empty_frame

EXTRACTOR_VERSION = "2.0.0"
ARTICLE_FIELDS = ["article_id", "text", "title", "published_at", "published_after"]
# A "sentence" longer than this is a text without full stops (tables, lists, a crawl's run-on
# page): it is not parsed (parse time grows with its length, and no coder reads a 1,500-character
# run as one clause). 186 of the Tehran Times corpus's 676,013 sentences (22 articles) are longer;
# the article's other sentences are coded. An article with a sentence above
# budget.MAX_SENTENCE_CHARS is quarantined whole.
MAX_SENTENCE_CHARS = 1500
# "TEHRAN –", "KABUL, AFGHANISTAN –": a dateline is not part of the sentence's grammar (parsed, it
# becomes the subject), so the parse starts after it; the quote keeps it.
DATELINE = re.compile(r"[A-Z][A-Z .,'’()-]{1,40}?\s*[–—-]+\s+(?=[A-Z“\"‘'])")
SURNAME = re.compile(r"\b[A-Z][a-z]{2,}\b")
NAME_REACH = 40  # characters either side of a title where the name it belongs to is written
_CAPITALISED_NON_NAMES = frozenset(
    "The This That These Those They There Their Then When While After Before Since During Minister President "
    "Foreign Deputy Ambassador Prime Secretary Affairs Ministry General Director Special Envoy Spokesman Head".split()
)
CANDIDATE_SCHEMA = {
    "article_id": pl.String,
    "sentence_index": pl.Int32,
    "char_start": pl.Int32,  # the quote
    "char_end": pl.Int32,
    "parse_start": pl.Int32,  # where the parsed text starts (after a dateline)
    "key": pl.String,  # sentence_key of the parsed text
    "parse_text": pl.String,
}


def extractor_fingerprint() -> str:
    """sha256 over EXTRACTOR_VERSION and every code and data file that shapes a mention: this
    package, the shared text layer (pipeline/text/) and schemas/ (codebook, dictionaries, models).
    Globbed (pipeline.cache), so a new module is covered without being listed."""
    return source_fingerprint(
        Path(__file__).resolve().parent, TEXT_DIR, SCHEMAS_DIR, salt=f"extractor {EXTRACTOR_VERSION}"
    )


@functools.lru_cache(maxsize=1)
def gate_automaton() -> ahocorasick.Automaton:
    """One automaton over every trigger form and condition word: value (frames it triggers,
    frames it satisfies). Keys are padded normalised words, so every hit is a whole word."""
    fs = frame_set()
    keys: dict[str, tuple[set[int], set[int]]] = {}
    for w, ids in fs.gate_triggers.items():
        keys.setdefault(" " + normalize(w).strip() + " ", (set(), set()))[0].update(ids)
    for w, ids in fs.gate_conditions.items():
        keys.setdefault(" " + normalize(w).strip() + " ", (set(), set()))[1].update(ids)
    auto = ahocorasick.Automaton()
    for k, (t, c) in keys.items():
        auto.add_word(k, (frozenset(t), frozenset(c)))
    auto.make_automaton()
    return auto


def gated_sentences(norm_lower: str, starts: list[int]) -> set[int]:
    """Indices of the sentences where some frame's trigger and (if it has one) its condition occur."""
    needs = frame_set().needs_condition
    trig: dict[int, set[int]] = {}
    cond: dict[int, set[int]] = {}
    for end_idx, (t, c) in gate_automaton().iter(" " + norm_lower + " "):
        si = bisect.bisect_right(starts, end_idx - 2) - 1
        if si < 0:
            continue
        if t:
            trig.setdefault(si, set()).update(t)
        if c:
            cond.setdefault(si, set()).update(c)
    out = set()
    for si, ids in trig.items():
        ok = cond.get(si, ())
        if any(i not in needs or i in ok for i in ids):
            out.add(si)
    return out


def find_candidates(articles: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The sentences of ``articles`` (ARTICLE_FIELDS) worth parsing (CANDIDATE_SCHEMA rows), and
    the articles left out whole (budget.SKIPPED rows): those with a sentence above
    budget.MAX_SENTENCE_CHARS, which are quarantined rather than half-read."""
    rows: dict[str, list] = {k: [] for k in CANDIDATE_SCHEMA}
    skipped: list[dict] = []
    for article_id, text in articles.select("article_id", "text").iter_rows():
        text = text or ""
        longest = longest_sentence(text)
        if longest[0] > budget.MAX_SENTENCE_CHARS:
            skipped.append(budget.too_long_row(article_id, *longest))
            continue
        for si, q0, q1, p0 in _article_candidates(text):
            parse_text = text[p0:q1]
            for k, v in zip(
                CANDIDATE_SCHEMA, (article_id, si, q0, q1, p0, sentence_key(parse_text), parse_text), strict=True
            ):
                rows[k].append(v)
    return pl.DataFrame(rows, schema=CANDIDATE_SCHEMA), pl.DataFrame(skipped, schema=budget.SKIPPED)


def _article_candidates(text: str) -> list[tuple[int, int, int, int]]:
    if not text:
        return []
    sentences = split_sentences(text)
    if not sentences:
        return []
    norm = normalize(text)
    low = lower_same_length(norm)
    hit = gated_sentences(low, [a for a, _ in sentences])
    if not hit:
        return []
    upto = sentences[max(hit)][1]
    spans = find_spans(text[:upto], norm[:upto], low[:upto])
    span_starts = [sp.start for sp in spans]
    # A person named earlier may return by surname alone ("Xi Jinping" ... "Xi"; "Nodira Qosimova,
    # the Uzbek Deputy Foreign Minister" ... "Qosimova"): a side too. The names beside a title are
    # taken by their capitalised words (a gate may keep too much, never too little).
    surnames = {sp.text.split()[-1]: sp.start for sp in spans if sp.kind == "person" and " " in sp.text}
    for sp in spans:
        if sp.kind == "title":
            for m in SURNAME.finditer(text, max(0, sp.start - NAME_REACH), min(len(text), sp.end + NAME_REACH)):
                surnames.setdefault(m.group(), m.start())
    out = []
    seen: set[str] = set()
    for si in sorted(hit):
        q0, q1 = sentences[si]
        if q1 - q0 > MAX_SENTENCE_CHARS:
            continue
        sentence = text[q0:q1]
        if sentence in seen:
            continue  # a repeated sentence is one mention
        seen.add(sentence)
        # Two sides: two different names, or a name and a word that refers back to one ("he", "the
        # country", "the minister"). Against "a name and any title or pronoun", this parses 0.27
        # instead of 0.32 of the corpus's words (3,000 articles) for 0.02 fewer mentions, and
        # tehran_dev keeps 121 of its 123 matched pairs and all its events.
        lo, hi = bisect.bisect_left(span_starts, q0), bisect.bisect_left(span_starts, q1)
        sides = {_side(sp) for sp in spans[lo:hi] if sp.kind in ENTITY_KINDS}
        sides |= {w for w in SURNAME.findall(text, q0, q1) if surnames.get(w, q1) < q0} - _CAPITALISED_NON_NAMES
        refers = any(sp.kind == "anaphor" for sp in spans[lo:hi])
        if len(sides) < 2 and not (sides and refers):
            continue
        m = DATELINE.match(text, q0, q1)
        out.append((si, q0, q1, m.end() if m else q0))
    return out


def _side(sp) -> str:
    """Who a name stands for, to tell two sides from two names of one (a state and its capital); a
    group or organisation is a side of its own (the Taliban and Kabul: a domestic event)."""
    e = sp.entry
    if e is not None and e.kind in ("state", "capital", "demonym") and e.country:
        return e.country
    return e.name if e is not None else sp.text


def code_articles(
    articles: pl.DataFrame, candidates: pl.DataFrame, parses: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mentions of ``articles`` from their candidate sentences and the parses of those sentences,
    and the articles whose coding ran past its time budget (budget.SKIPPED rows; none of their
    mentions are kept: an article is coded whole or quarantined)."""
    rows, skipped = code_rows(articles, candidates, parses)
    return mention_frame(rows), pl.DataFrame(skipped, schema=budget.SKIPPED)


def code_rows(articles: pl.DataFrame, candidates: pl.DataFrame, parses: pl.DataFrame) -> tuple[list[dict], list[dict]]:
    """The coder's rows (Mention columns, plus the frame and the confidence features), and the
    SKIPPED rows of the articles over their time budget."""
    texts = dict(candidates.select("key", "parse_text").unique("key").iter_rows())
    sents = sents_from_rows(
        parses.filter(pl.col("key").is_in(pl.Series(list(texts), dtype=pl.String).implode())), texts
    )
    by_article: dict[str, list[tuple]] = {}
    for article_id, si, q0, q1, p0, key, _ in candidates.iter_rows():
        by_article.setdefault(article_id, []).append((si, q0, q1, p0, key))
    rows: list[dict] = []
    skipped: list[dict] = []
    for article_id, text, title, published_at, published_after in articles.select(ARTICLE_FIELDS).iter_rows():
        cands = by_article.get(article_id)
        if not cands:
            continue
        seconds = budget.article_budget_s(text)
        started = time.monotonic()
        try:
            with budget.time_budget(seconds):
                rows += code_article(article_id, text, title, published_at, published_after, cands, sents)
        except budget.BudgetExceeded:
            skipped.append(budget.over_time_row(article_id, len(text), seconds, time.monotonic() - started))
    return rows, skipped


def code_article(
    article_id: str, text: str, title: str | None, published_at, published_after, cands: list[tuple], sents: dict
) -> list[dict]:
    cands = sorted(cands)
    upto = max(q1 for _, _, q1, _, _ in cands)
    norm = normalize(text[:upto])
    actors = ArticleActors(text[:upto], norm, lower_same_length(norm))
    span_starts = [sp.start for sp in actors.spans]
    lead_limit = 2 if title is not None else 1  # title = sentence 0, then two body sentences
    people: dict = {}
    rows: dict[str, dict] = {}
    for si, q0, q1, p0, key in cands:
        sent = sents.get(key)
        if sent is None:
            raise KeyError(f"no parse for sentence {si} of article {article_id}")
        ctx = Ctx(text, actors, span_starts, p0, sent, Slots(sent), q0, q1, people)
        for r in code_sentence(ctx, si, published_at, published_after, si <= lead_limit, article_id):
            if r["mention_id"] not in rows or rows[r["mention_id"]]["confidence"] < r["confidence"]:
                rows[r["mention_id"]] = r
    return list(rows.values())


def mention_frame(rows: list[dict]) -> pl.DataFrame:
    if not rows:
        return empty_frame(Mention)
    return conform(
        pl.DataFrame(rows, schema_overrides={k: v for k, v in _OVERRIDES.items()}, infer_schema_length=None), Mention
    )


_OVERRIDES = {
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
    "location_name": pl.String,
    "location_country": pl.String,
}


def extract_articles(articles: pl.DataFrame, parses: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(mentions, skipped) of ``articles`` in this process: gate, parse what ``parses`` lacks,
    code."""
    if articles.is_empty():
        return empty_frame(Mention), pl.DataFrame(schema=budget.SKIPPED)
    candidates, too_long = find_candidates(articles)
    known = parses if parses is not None else pl.DataFrame(schema=PARSE_SCHEMA)
    missing = candidates.unique("key", keep="first").filter(~pl.col("key").is_in(known["key"].implode()))
    fresh = parse_texts(missing["parse_text"].to_list()) if missing.height else pl.DataFrame(schema=PARSE_SCHEMA)
    mentions, over_time = code_articles(articles, candidates, pl.concat([known, fresh]))
    return mentions, pl.concat([too_long, over_time])


def extract_article(
    article_id: str, text: str, title: str | None = None, published_at=None, published_after=None
) -> list[dict]:
    """Mention rows (Mention columns) of one article (none when it is over budget)."""
    frame = pl.DataFrame(
        [
            {
                "article_id": article_id,
                "text": text,
                "title": title,
                "published_at": published_at,
                "published_after": published_after,
            }
        ],
        schema={
            "article_id": pl.String,
            "text": pl.String,
            "title": pl.String,
            "published_at": pl.Date,
            "published_after": pl.Date,
        },
    )
    return extract_articles(frame)[0].to_dicts()
