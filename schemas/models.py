"""Pandera (polars backend) models: the one source of truth for every table's columns.

Column order here is the column order of the release files. Every column has a description; the
data dictionary, ``datapackage.json`` and the Dagster UI's column schema are generated from these
models (see :func:`schemas.dictionary.table_schema`). Vocabularies (event types, modalities,
sectors, date precision and basis) are read from ``schemas/codebook.yaml`` so that a type added
there is accepted by the checks without touching this file.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Optional

import pandera.polars as pa
import polars as pl

from schemas.codebook import load_codebook

_CB = load_codebook()
EVENT_TYPES = sorted(_CB.event_types)
MODALITIES = _CB.modalities
SECTORS = _CB.sectors
PRECISIONS = _CB.date_precisions
BASES = _CB.date_bases
PUBLISHED_BASES = ["metadata", "text", "inferred", "unknown"]
QUARANTINE_STAGES = ["ingest", "extract", "validate", "dedup"]
CHANGE_TYPES = ["added", "updated", "removed", "merged", "split"]
COUNTRY_RE = r"^([A-Z]{3})$"  # ISO 3166-1 alpha-3, or IGO for international organizations

StrList = pl.List(pl.String)


def _interval_ordered(df: pa.PolarsData) -> pl.LazyFrame:
    """date_end is never before date_start (open ends are allowed)."""
    return df.lazyframe.select(
        pl.col("date_start").is_null() | pl.col("date_end").is_null() | (pl.col("date_end") >= pl.col("date_start"))
    )


class Article(pa.DataFrameModel):
    """One article: a distinct text (by content), with where it came from and when it was published."""

    article_id: str = pa.Field(
        unique=True,
        str_matches=r"^a[0-9a-f]{16}$",
        description="Content-derived id: 'a' + the first 16 hex digits of the sha256 of the normalized "
        "text. The same text under two names is one article.",
    )
    source_file: str = pa.Field(
        str_length={"min_value": 1},
        description="Path of the input, relative to the raw folder; for a bundle line, 'bundle.jsonl.gz#L<line>'.",
    )
    title: str = pa.Field(
        nullable=True,
        description="Headline, from metadata or the text's first line when it reads as a headline; null "
        "when there is none.",
    )
    outlet: str = pa.Field(
        nullable=True, description="Publishing outlet as stated by metadata; null (unknown) when no source says it."
    )
    url: str = pa.Field(nullable=True, description="URL as stated by metadata; null when unknown.")
    published_at: dt.date = pa.Field(
        nullable=True,
        description="Publication date: metadata, else a dateline or date line in the text, else inferred "
        "from the text (a weekday with a day and month); null when unknown. Never a file or run time.",
    )
    published_basis: str = pa.Field(
        isin=PUBLISHED_BASES, description="Where published_at comes from: metadata, text, inferred or unknown."
    )
    language: str = pa.Field(
        nullable=True, description="ISO 639-1 language code (metadata, else detected; 'en' for English)."
    )
    n_chars: int = pa.Field(
        ge=1, description="Length of the stored, normalized article text in characters; offsets index into that text."
    )
    sha256: str = pa.Field(str_matches=r"^[0-9a-f]{64}$", description="sha256 of the normalized article text (UTF-8).")
    dateline: str = pa.Field(
        nullable=True,
        description="Dateline as written at the start of the text (e.g. 'KABUL, AFGHANISTAN'), null when absent.",
    )
    published_after: dt.date = pa.Field(
        nullable=True,
        description="When published_at is unknown: the earliest date the article can have been "
        "published, from evidence only (a date the text states as past, a dated role its wording "
        "presupposes); never from a planned or future date; else null.",
    )
    collected_at: dt.date = pa.Field(
        nullable=True,
        description="When the input was collected (crawled), from the collected_at column of "
        "sources.csv for its file or bundle; no publication or asserted event date passes it. Null "
        "when not stated.",
    )

    class Config:
        strict = True
        ordered = True
        coerce = False


class ArticleText(Article):
    """An article with its stored text (internal: offsets and quotes are checked against it)."""

    text: str = pa.Field(
        str_length={"min_value": 1}, description="Normalized article text (NFC, LF line endings, boilerplate removed)."
    )


class Mention(pa.DataFrameModel):
    """One extraction from one sentence of one article, with the words that say so."""

    mention_id: str = pa.Field(
        unique=True,
        str_matches=r"^m[0-9a-f]{16}$",
        description="Deterministic id from the article, offsets, type and actors.",
    )
    event_id: str = pa.Field(
        nullable=True, description="The event this mention belongs to after deduplication (null before it)."
    )
    article_id: str = pa.Field(str_matches=r"^a[0-9a-f]{16}$", description="The article the mention comes from.")
    sentence_index: int = pa.Field(
        ge=0, description="0-based index of the sentence in the article (the title, when present, is sentence 0)."
    )
    char_start: int = pa.Field(
        ge=0, description="Start offset of the quote in the stored article text (0-based, in characters)."
    )
    char_end: int = pa.Field(ge=1, description="End offset (exclusive) of the quote in the stored article text.")
    quote: str = pa.Field(
        str_length={"min_value": 1},
        description="The verbatim sentence that carries the event: text[char_start:char_end].",
    )
    event_type: str = pa.Field(isin=EVENT_TYPES, description="Event type id from the codebook.")
    modality: str = pa.Field(
        isin=MODALITIES, description="asserted, planned, denied or hypothetical (codebook section 2)."
    )
    actor_text: str = pa.Field(description="The actor as written in the text, with its title or apposition.")
    actor_name: str = pa.Field(description="Canonical actor name (country, organization or resolved person).")
    actor_country: str = pa.Field(
        nullable=True,
        str_matches=COUNTRY_RE,
        description="ISO 3166-1 alpha-3 of the actor, or IGO; null when unresolved.",
    )
    actor_sector: str = pa.Field(
        nullable=True,
        isin=SECTORS,
        description="Actor sector (GOV, JUD, LEG, MIL, BUS, NGO, REB, IGO, OTH), dated by the event date.",
    )
    target_text: str = pa.Field(nullable=True, description="The target as written in the text.")
    target_name: str = pa.Field(nullable=True, description="Canonical target name.")
    target_country: str = pa.Field(
        nullable=True, str_matches=COUNTRY_RE, description="ISO 3166-1 alpha-3 of the target, or IGO."
    )
    target_sector: str = pa.Field(nullable=True, isin=SECTORS, description="Target sector, dated by the event date.")
    date_text: str = pa.Field(
        nullable=True,
        description="The date expression as written ('two months ago', 'In April 2023'); null when the "
        "date comes from publication or is unknown.",
    )
    date_start: dt.date = pa.Field(
        nullable=True, description="Earliest date of the event interval; null when unbounded."
    )
    date_end: dt.date = pa.Field(nullable=True, description="Latest date of the event interval; null when unbounded.")
    date_precision: str = pa.Field(isin=PRECISIONS, description="day, week, month, year or unknown.")
    date_basis: str = pa.Field(isin=BASES, description="explicit, relative, publication or none (codebook section 4).")
    confidence: float = pa.Field(
        ge=0.0,
        le=1.0,
        description="Extraction confidence in [0, 1]: a logistic model over how the coder found the row (frame, "
        "how the actor and target were resolved, modality, date basis), fitted on the development sets so that "
        "right rows score higher than wrong ones.",
    )
    trigger_text: str = pa.Field(description="The trigger word of the frame that matched (a verb or a noun).")
    actor_person: str = pa.Field(
        nullable=True,
        description="The person acting, as first named in the article (spelling variants and later "
        "surnames resolved to it); null for states, bodies and groups.",
    )
    target_person: str = pa.Field(
        nullable=True,
        description="The person acted upon or met, as first named in the article; null for states, bodies and groups.",
    )
    location_name: str = pa.Field(
        nullable=True,
        description="Where the act took place as the text names it (the venue: 'Tehran', 'Geneva'); null when "
        "the sentence names no place. A place is never a participant.",
    )
    location_country: str = pa.Field(
        nullable=True,
        str_matches=COUNTRY_RE,
        description="ISO 3166-1 alpha-3 of the location, when the gazetteer knows the place; else null.",
    )

    class Config:
        strict = True
        ordered = True

    @pa.dataframe_check
    def interval_ordered(cls, df: pa.PolarsData) -> pl.LazyFrame:
        return _interval_ordered(df)

    @pa.dataframe_check
    def offsets_ordered(cls, df: pa.PolarsData) -> pl.LazyFrame:
        """char_end is after char_start and the quote is as long as its span."""
        return df.lazyframe.select(
            (pl.col("char_end") > pl.col("char_start"))
            & (pl.col("quote").str.len_chars() == pl.col("char_end") - pl.col("char_start"))
        )


class Event(pa.DataFrameModel):
    """One real-world event: the deduplicated cluster of its mentions across articles and outlets."""

    event_id: str = pa.Field(
        unique=True,
        str_matches=r"^E[0-9a-f]{12}$",
        description="Stable id: kept in every later release while the event exists (see the id registry).",
    )
    event_type: str = pa.Field(isin=EVENT_TYPES, description="Event type id from the codebook.")
    modality: str = pa.Field(isin=MODALITIES, description="Strongest modality its mentions support.")
    actor_name: str = pa.Field(
        description="The canonical actor name most of its mentions give (ties: the most specific name)."
    )
    actor_country: str = pa.Field(
        nullable=True, str_matches=COUNTRY_RE, description="ISO 3166-1 alpha-3 of the actor, or IGO."
    )
    actor_sector: str = pa.Field(nullable=True, isin=SECTORS, description="Actor sector at the event date.")
    target_name: str = pa.Field(
        nullable=True, description="The canonical target name most of its mentions give (ties: the most specific)."
    )
    target_country: str = pa.Field(
        nullable=True, str_matches=COUNTRY_RE, description="ISO 3166-1 alpha-3 of the target, or IGO."
    )
    target_sector: str = pa.Field(nullable=True, isin=SECTORS, description="Target sector at the event date.")
    location_name: str = pa.Field(
        nullable=True, description="Where it took place: the venue most of its mentions name; null when none does."
    )
    location_country: str = pa.Field(
        nullable=True, str_matches=COUNTRY_RE, description="ISO 3166-1 alpha-3 of that venue; null when unknown."
    )
    date_start: dt.date = pa.Field(
        nullable=True,
        description="Start of the intersection of its dated mentions' intervals (those of known precision); "
        "when none is dated, of the bounds all its mentions allow.",
    )
    date_end: dt.date = pa.Field(nullable=True, description="End of that interval.")
    date_precision: str = pa.Field(isin=PRECISIONS, description="Precision of the settled interval.")
    date_basis: str = pa.Field(isin=BASES, description="Basis of the mention that fixes the settled interval.")
    n_mentions: int = pa.Field(ge=1, description="Number of mentions behind the event.")
    n_articles: int = pa.Field(ge=1, description="Number of distinct articles behind the event.")
    n_sources: int = pa.Field(
        nullable=True,
        ge=1,
        description="Independent sources: distinct known outlets, syndicated copies counted once; null when "
        "no article of the event names its outlet (then only n_articles is known).",
    )
    article_ids: StrList = pa.Field(description="Ids of the articles that report it (sorted).")
    mention_ids: StrList = pa.Field(description="Ids of its mentions (sorted).")
    first_published_at: dt.date = pa.Field(
        nullable=True, description="Earliest known publication date among its articles."
    )
    cameo_code: str = pa.Field(
        str_matches=r"^\d{3,4}$", description="CAMEO code of the event type (string; leading zeros matter)."
    )
    plover_type: str = pa.Field(description="PLOVER event type of the event type.")
    quad_class: int = pa.Field(
        isin=[1, 2, 3, 4],
        description="1 verbal cooperation, 2 material cooperation, 3 verbal conflict, 4 material conflict.",
    )
    # goldstein and source_urls are added when a release is published (pipeline/release/enrich.py):
    # optional here, so the dedup stage's events table (checked against this model) need not carry them.
    goldstein: Optional[float] = pa.Field(  # noqa: UP045 (pandera reads Optional as "column not required")
        ge=-10.0,
        le=10.0,
        description="Goldstein scale of the CAMEO code, -10 (most conflictual) to +10 (most cooperative): "
        "GDELT's GoldsteinScale, so rows compare with GDELT and ICEWS (schemas/goldstein.yaml).",
    )
    confidence: float = pa.Field(
        ge=0.0,
        le=1.0,
        description="Event confidence: rises with independent corroboration (noisy-or over independent "
        "sources of the best mention per source; articles of unknown outlet are one source together, "
        "repeats never corroborate), times 0.8 when another row has its type, pair and modality and an "
        "overlapping date (it may be a second row of the same occurrence).",
    )
    has_conflict: bool = pa.Field(
        description="True when its mentions disagree on a field (modality, day-level date, sector); the "
        "values stay on the mentions."
    )
    summary: str = pa.Field(str_length={"min_value": 1}, description="One generated line: actor, type, target, date.")
    quote: str = pa.Field(
        str_length={"min_value": 1}, description="Best supporting quote (highest-confidence mention)."
    )
    outlets: StrList = pa.Field(description="Distinct outlets of its articles (known ones only).")
    source_urls: Optional[StrList] = pa.Field(  # noqa: UP045 (see goldstein)
        description="URLs of its articles as metadata states them (GDELT's SOURCEURL), in the order of "
        "article_ids; articles without a known URL are left out, so the list may be shorter or empty."
    )
    conflict_fields: StrList = pa.Field(description="Fields on which its mentions disagree (empty when none).")

    class Config:
        strict = True
        ordered = True

    @pa.dataframe_check
    def interval_ordered(cls, df: pa.PolarsData) -> pl.LazyFrame:
        return _interval_ordered(df)

    @pa.dataframe_check
    def counts_consistent(cls, df: pa.PolarsData) -> pl.LazyFrame:
        return df.lazyframe.select(
            (pl.col("n_mentions") == pl.col("mention_ids").list.len())
            & (pl.col("n_articles") == pl.col("article_ids").list.len())
            & (pl.col("n_sources").is_null() | (pl.col("n_sources") <= pl.col("n_articles")))
        )


class Quarantine(pa.DataFrameModel):
    """An input that did not become an article, or a row that failed validation, with the reason."""

    source_file: str = pa.Field(
        description="Input path relative to the raw folder (or the article's source for a row)."
    )
    line: int = pa.Field(nullable=True, ge=1, description="Line number inside a bundle; null for a whole file.")
    stage: str = pa.Field(
        isin=QUARANTINE_STAGES, description="Stage that set it aside: ingest, extract, validate or dedup."
    )
    reason_code: str = pa.Field(
        str_matches=r"^[a-z0-9_]+$",
        description="Short machine-readable reason (empty_file, binary_file, duplicate_text, schema_error, ...).",
    )
    reason: str = pa.Field(str_length={"min_value": 1}, description="Clear human-readable message saying why.")
    record_id: str = pa.Field(
        nullable=True, description="Id of the row set aside (article_id or mention_id), when there is one."
    )
    duplicate_of: str = pa.Field(
        nullable=True, description="For a duplicate: the source_file of the article it duplicates."
    )
    detail: str = pa.Field(
        nullable=True, description="Extra context (the failing check, the offending value, bytes read)."
    )

    class Config:
        strict = True
        ordered = True


class Change(pa.DataFrameModel):
    """One line of the change log between a release and the previous one."""

    change_type: str = pa.Field(isin=CHANGE_TYPES, description="added, updated, removed, merged or split.")
    event_id: str = pa.Field(description="The event concerned (for merged: the surviving id; for split: the new id).")
    fields: StrList = pa.Field(description="For updated: the fields whose values changed.")
    related_event_ids: StrList = pa.Field(
        description="For merged: the ids folded into event_id; for split: the id it split from."
    )
    detail: str = pa.Field(nullable=True, description="Human-readable summary of the change.")

    class Config:
        strict = True
        ordered = True


RELEASE_TABLES: dict[str, type[pa.DataFrameModel]] = {
    "events": Event,
    "mentions": Mention,
    "articles": Article,
    "quarantine": Quarantine,
    "changes": Change,
}


def empty_frame(model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """An empty DataFrame with exactly the model's columns and dtypes."""
    return pl.DataFrame(schema=polars_schema(model))


def polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    return dict(_polars_schema(model))  # a copy: callers may change theirs


@functools.cache
def _polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    # Building the pandera schema takes milliseconds, and conform() runs on every table of a build.
    return {name: col.dtype.type for name, col in model.to_schema().columns.items()}


@functools.cache
def optional_columns(model: type[pa.DataFrameModel]) -> frozenset[str]:
    """Columns the model declares ``Optional``: a table may leave them out (Event's goldstein and
    source_urls, added only when a release is published)."""
    return frozenset(name for name, col in model.to_schema().columns.items() if not col.required)


def conform(df: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Select and cast the model's columns in its order (missing nullable columns become null;
    missing optional columns stay missing)."""
    schema = polars_schema(model)
    optional = optional_columns(model)
    exprs = []
    for name, dtype in schema.items():
        if name in df.columns:
            exprs.append(pl.col(name).cast(dtype))
        elif name not in optional:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(exprs)
