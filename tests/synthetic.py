"""Synthetic mentions and articles for the deduplication tests and benchmark.

There is no extractor output to rely on while the extractor is written, so tests build frames
with :func:`mention_row` / :func:`frames`, and the benchmark draws a large, realistic-looking set
with :func:`synthetic_corpus` (a seeded numpy generator: reproducible).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import polars as pl

from schemas.codebook import load_codebook
from schemas.models import ArticleText, Mention, conform, polars_schema


def hex_id(prefix: str, *parts: object, n: int = 16) -> str:
    return prefix + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:n]


def mention_row(key: object, article: str = "A", **overrides: object) -> dict:
    """One mention as a dict; ``key`` and ``article`` are short labels turned into valid ids."""
    quote = overrides.pop("quote", f"quote {key}")
    row = {
        "mention_id": hex_id("m", "mention", key),
        "event_id": None,
        "article_id": hex_id("a", "article", article),
        "sentence_index": 0,
        "char_start": 0,
        "char_end": len(quote),
        "quote": quote,
        "event_type": "delist_organization",
        "modality": "asserted",
        "actor_text": "Kazakhstan",
        "actor_name": "Kazakhstan",
        "actor_country": "KAZ",
        "actor_sector": "GOV",
        "target_text": "Taliban",
        "target_name": "Taliban",
        "target_country": "AFG",
        "target_sector": "GOV",
        "date_text": None,
        "date_start": None,
        "date_end": None,
        "date_precision": "unknown",
        "date_basis": "none",
        "confidence": 0.8,
        "trigger_text": "removed",
        "actor_person": None,
        "target_person": None,
    }
    row.update(overrides)
    return row


def day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def frames(rows: list[dict], articles: dict[str, dict] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(mentions, articles) frames with the model columns. ``articles`` maps an article label to
    overrides (outlet, published_at, text); every article referenced by a mention exists."""
    mentions = conform(pl.DataFrame(rows, schema=polars_schema(Mention)), Mention)
    labels = dict(articles or {})
    ids = {hex_id("a", "article", label): label for label in labels}
    art_rows = []
    for article_id in sorted(set(mentions["article_id"].to_list()) | set(ids)):
        over = labels.get(ids.get(article_id, ""), {})
        text = over.get("text", f"text of {article_id}")
        art_rows.append(
            {
                "article_id": article_id,
                "source_file": f"{article_id}.txt",
                "title": None,
                "outlet": over.get("outlet"),
                "url": None,
                "published_at": over.get("published_at"),
                "published_basis": "metadata" if over.get("published_at") else "unknown",
                "language": "en",
                "n_chars": len(text),
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "dateline": None,
                "published_after": None,
                "text": text,
            }
        )
    return mentions, pl.DataFrame(art_rows, schema=polars_schema(ArticleText))


def synthetic_corpus(n_mentions: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """About n_mentions mentions of ~n/3 underlying events reported by several articles each, with
    a mix of precisions (day, month, open), modalities and symmetric types; no texts."""
    rng = np.random.default_rng(seed)
    cb = load_codebook()
    types = np.array(sorted(cb.event_types))
    countries = np.array([f"C{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(80)])
    n_events = max(1, n_mentions // 3)
    ev_type = rng.integers(0, len(types), n_events)
    ev_actor = rng.integers(0, len(countries), n_events)
    ev_target = rng.integers(0, len(countries), n_events)
    ev_day = rng.integers(0, 365 * 5, n_events)  # days since 2020-01-01

    ev = rng.integers(0, n_events, n_mentions)  # which event each mention reports
    n_articles = max(1, n_mentions // 4)
    article = rng.integers(0, n_articles, n_mentions)
    kind = rng.choice(4, n_mentions, p=[0.5, 0.2, 0.2, 0.1])  # day, month, open end, undated
    base = np.datetime64("2020-01-01") + ev_day[ev].astype("timedelta64[D]")
    month_start = base.astype("datetime64[M]").astype("datetime64[D]")
    month_end = (base.astype("datetime64[M]") + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    start = np.where(kind == 0, base, np.where(kind == 1, month_start, np.datetime64("2021-08-15")))
    end = np.where(kind == 0, base, np.where(kind == 1, month_end, base + np.timedelta64(30, "D")))
    modality = rng.choice(
        np.array(["asserted", "planned", "hypothetical", "denied"]), n_mentions, p=[0.8, 0.12, 0.05, 0.03]
    )
    idx = np.arange(n_mentions)
    mentions = pl.DataFrame(
        {
            "mention_id": [f"m{i:016x}" for i in idx],
            "article_id": [f"a{a:016x}" for a in article],
            "sentence_index": rng.integers(0, 40, n_mentions),
            "char_start": np.zeros(n_mentions, dtype=np.int64),
            "char_end": np.full(n_mentions, 5, dtype=np.int64),
            "quote": np.full(n_mentions, "quote"),
            "event_type": types[ev_type[ev]],
            "modality": modality,
            "actor_text": countries[ev_actor[ev]],
            "actor_name": countries[ev_actor[ev]],
            "actor_country": countries[ev_actor[ev]],
            "actor_sector": np.full(n_mentions, "GOV"),
            "target_text": countries[ev_target[ev]],
            "target_name": countries[ev_target[ev]],
            "target_country": countries[ev_target[ev]],
            "target_sector": np.full(n_mentions, "GOV"),
            "date_start": pl.Series(start).cast(pl.Date),
            "date_end": pl.Series(end).cast(pl.Date),
            "date_precision": np.array(["day", "month", "unknown", "unknown"])[kind],
            "date_basis": np.array(["explicit", "relative", "none", "none"])[kind],
            "confidence": rng.uniform(0.3, 1.0, n_mentions),
            "trigger_text": np.full(n_mentions, "t"),
        }
    ).with_columns(
        pl.when(pl.lit(kind == 3)).then(None).otherwise(pl.col("date_start")).alias("date_start"),
        pl.when(pl.lit(kind >= 2)).then(None).otherwise(pl.col("date_end")).alias("date_end"),
    )
    mentions = conform(mentions, Mention)
    outlets = np.array([f"outlet{i}" for i in range(50)] + [None] * 10, dtype=object)
    art_idx = np.arange(n_articles)
    articles = pl.DataFrame(
        {
            "article_id": [f"a{a:016x}" for a in art_idx],
            # As a list: polars cannot cast some numpy object arrays of str and None (it failed for
            # n_mentions=600), while a list of them always converts.
            "outlet": pl.Series(outlets[rng.integers(0, len(outlets), n_articles)].tolist(), dtype=pl.String),
            "published_at": pl.Series(
                np.datetime64("2020-01-01") + rng.integers(0, 365 * 5, n_articles).astype("timedelta64[D]")
            ).cast(pl.Date),
        }
    )
    return mentions, articles


def with_story_texts(articles: pl.DataFrame, seed: int = 0, stories: int = 40) -> pl.DataFrame:
    """``articles`` with a text each: a near copy (one word changed) of one of ``stories`` random
    word sequences, so that similarity evidence and syndicated copies occur (synthetic_corpus has
    no texts)."""
    import random

    rng = random.Random(seed)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9))) for _ in range(600)]
    plots = [[rng.choice(vocab) for _ in range(60)] for _ in range(stories)]
    texts = []
    for i in range(articles.height):
        words = list(plots[i % stories])
        words[rng.randrange(len(words))] = rng.choice(vocab)
        texts.append(" ".join(words))
    return articles.with_columns(pl.Series("text", texts, dtype=pl.String))
