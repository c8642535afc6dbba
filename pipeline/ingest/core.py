"""Ingest: a raw folder -> articles (decoded, normalized, deduplicated) + quarantine (everything else).

Every input is accounted for: each file, and each line of each bundle, ends up either as an
article's ``source_file`` or as a quarantine row (stage "ingest") with a reason code and a message.
Plain Python/polars; the Dagster asset (assets.py) only calls :func:`ingest_raw`.

Reason codes: hidden_file, symlink_outside, symlink_dir, not_regular_file, unreadable (walk);
empty_file, binary_file, not_article_type (magic bytes), unsupported_type, no_text (HTML),
too_large (files, texts, bundle lines); broken_json, not_an_object, missing_text, blank_line,
empty_text, bundle_too_large, corrupt_bundle (bundles); only_boilerplate, non_english,
duplicate_text (texts); bad_metadata (sources.csv rows, bundle fields, HTML meta; the article is
kept without the bad value). Bundle lines are named "<path>#L<n>" (also in quarantine, with
``line`` = n); rows about a whole bundle or about sources.csv carry the path and the line where
it happened. Output order: by path, then line number (so "#L2" sorts before "#L10").
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.extract.dates import WEEKDAY_TOKEN_PATTERN, YEAR_TOKEN_PATTERN
from pipeline.ingest.bundle import BundleStop, read_bundle
from pipeline.ingest.cache import CacheStats, IngestCache, session
from pipeline.ingest.decode import decode_bytes, looks_like_html, sniff_type
from pipeline.ingest.discover import Entry, discover
from pipeline.ingest.html import extract_html
from pipeline.ingest.language import guess_english
from pipeline.ingest.metadata import (
    SOURCES_FILE, Metadata, MetadataIssue, metadata_from_fields, read_sources_csv,
)
from pipeline.ingest.normalize import Boilerplate, clean_expr, default_boilerplate, nfc, tidy_expr
from pipeline.ingest.parallel import infer_dates
from pipeline.ingest.structure import analyze
from schemas.models import ArticleText, Quarantine, conform, polars_schema

STAGE = "ingest"
PublicationHints = Callable[[str], list[dt.date]]


@dataclass(frozen=True)
class IngestLimits:
    """Size limits; inputs above them are quarantined ("too_large" / "bundle_too_large"), never loaded whole.

    Defaults: the largest real article seen (Tehran Times corpus) has 1.1 million characters, so
    2 million characters leaves room; a file may hold up to 8 MB of bytes (HTML markup, UTF-16);
    a bundle may expand to 512 MiB (the 33,692-article corpus expands to 110 MB).
    """
    max_article_chars: int = 2_000_000
    max_file_bytes: int = 8_000_000  # bytes read from one file: at most this + 1
    max_line_bytes: int = 8_000_000  # bytes of one bundle line
    max_bundle_bytes: int = 512 * 1024 * 1024  # decompressed bytes read from one bundle


@dataclass(frozen=True)
class IngestResult:
    articles: pl.DataFrame  # schemas.models.ArticleText columns
    quarantine: pl.DataFrame  # schemas.models.Quarantine columns, stage "ingest"
    cache: CacheStats | None = None  # with a cache_dir: inputs reused from the cache / read


class StoredText:
    """A normalized text kept in a polars Series (as loaded from the cache): turned into a Python
    string only when needed, which on a warm build is for none of the cached texts."""
    __slots__ = ("series", "index", "n_chars")

    def __init__(self, series: pl.Series, index: int, n_chars: int):
        self.series, self.index, self.n_chars = series, index, n_chars

    def __str__(self) -> str:
        return self.series[self.index]


def _str(text: str | StoredText) -> str:
    return text if isinstance(text, str) else str(text)


@dataclass
class _Candidate:
    order: tuple[str, int]
    source_file: str
    text: str | StoredText  # as decoded; normalized in _finish (a StoredText is normalized)
    meta: Metadata
    empty_code: str  # reason code when nothing is left: empty_file (a file) or empty_text (a bundle line)
    prepared: bool = False  # text normalized, head set (by _prepare_texts, or taken from the cache)
    head: str | None = None  # start of the text before boilerplate removal; None when it had no content
    digest: str | None = None  # sha256 of the normalized text, once computed


@dataclass
class Analysis:
    """What ingest derives from a normalized text alone (cacheable by its sha256). Filled lazily:
    each part is computed only when an article needs it (None = not computed yet)."""
    english: bool | None = None
    guess: str | None = None  # LanguageGuess.describe() when not English
    structure: tuple[str | None, str | None, dt.date | None] | None = None  # title, dateline, date_marker
    publication: tuple[dt.date | None, str, dt.date | None] | None = None  # published_at, basis, published_after


@dataclass
class _Run:
    limits: IngestLimits
    boilerplate: Boilerplate
    candidates: list[_Candidate] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    issues: list[MetadataIssue] = field(default_factory=list)
    analyses: dict[str, Analysis] = field(default_factory=dict)  # sha256 -> Analysis of the texts of this run
    workers: int = 1  # processes for publication-date inference (pipeline/ingest/parallel.py)

    def reject(self, source_file: str, line: int | None, code: str, reason: str, detail: str | None = None,
               record_id: str | None = None, duplicate_of: str | None = None) -> None:
        self.quarantine.append({
            "source_file": source_file, "line": line, "stage": STAGE, "reason_code": code, "reason": reason,
            "record_id": record_id, "duplicate_of": duplicate_of, "detail": detail,
        })

    def add_text(self, order: tuple[str, int], source_file: str, line: int | None, raw_text: str,
                 meta: Metadata, *, empty_code: str) -> None:
        """Keep a decoded text for normalization (in one batch, see _finish), unless it is too large."""
        limit = self.limits.max_article_chars
        if len(raw_text) > limit:
            self.reject(source_file, line, "too_large",
                        f"text has {len(raw_text):,} characters, above the limit of {limit:,}",
                        f"max_article_chars={limit}")
            return
        self.candidates.append(_Candidate(order, source_file, raw_text, meta, empty_code))


def article_id_of(text: str) -> tuple[str, str]:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return "a" + digest[:16], digest


def _merge(primary: Metadata, fallback: Metadata | None) -> Metadata:
    if fallback is None:
        return primary
    return Metadata(**{k: getattr(primary, k) if getattr(primary, k) is not None else getattr(fallback, k)
                       for k in ("title", "outlet", "url", "published_at", "language")})


def _ingest_file(run: _Run, entry: Entry, meta: Metadata) -> None:
    limits = run.limits
    try:
        with open(entry.path, "rb") as f:
            data = f.read(limits.max_file_bytes + 1)
    except OSError as exc:
        run.reject(entry.source_file, None, "unreadable", "file cannot be read", f"{type(exc).__name__}: {exc}"[:300])
        return
    if len(data) > limits.max_file_bytes:
        run.reject(entry.source_file, None, "too_large",
                   f"file is larger than the limit of {limits.max_file_bytes:,} bytes; not read further",
                   f"size={entry.size:,} bytes; read {len(data):,}; max_file_bytes={limits.max_file_bytes}")
        return
    if not data.strip():
        run.reject(entry.source_file, None, "empty_file",
                   "file is empty" if not data else "file is whitespace only", f"{len(data)} bytes")
        return
    kind = sniff_type(data)
    if kind is not None:
        run.reject(entry.source_file, None, "not_article_type", f"not an article: {kind} (detected by magic bytes)",
                   f"first bytes: {data[:8]!r}")
        return
    if entry.kind == "other":
        run.reject(entry.source_file, None, "unsupported_type",
                   "not an article file type (articles are .txt/.html files or .jsonl/.jsonl.gz bundles)",
                   f"size={entry.size:,} bytes")
        return
    decoded = decode_bytes(data)
    if decoded.text is None:
        run.reject(entry.source_file, None, "binary_file", "file is binary, not text", decoded.problem)
        return
    text = decoded.text
    html_meta = None
    if entry.kind == "html" or looks_like_html(text):
        page = extract_html(text)
        if not page.text.strip():
            run.reject(entry.source_file, None, "no_text", "HTML page has no extractable article text")
            return
        text = page.text
        html_meta = metadata_from_fields(
            {"outlet": page.outlet, "url": page.url, "published_at": page.published_at, "language": page.language},
            entry.source_file, None, entry.source_file, run.issues)
    run.add_text((entry.source_file, 0), entry.source_file, None, text, _merge(meta, html_meta), empty_code="empty_file")


def _ingest_bundle(run: _Run, entry: Entry) -> None:
    limits = run.limits
    for item in read_bundle(entry.path, limits.max_line_bytes, limits.max_bundle_bytes):
        if isinstance(item, BundleStop):
            run.reject(entry.source_file, item.line, item.code, item.reason, item.detail)
            continue
        name = f"{entry.source_file}#L{item.line}"
        if item.record is None:
            run.reject(name, item.line, item.problem_code, item.problem, item.detail)
            continue
        text = item.record.get("text")
        if not isinstance(text, str):
            why = "has no 'text' field" if text is None else f"'text' is a {type(text).__name__}, not a string"
            run.reject(name, item.line, "missing_text", f"bundle line {why}",
                       f"keys={sorted(map(str, item.record))[:20]}")
            continue
        meta = metadata_from_fields(item.record, name, item.line, name, run.issues)
        run.add_text((entry.source_file, item.line), name, item.line, text, meta, empty_code="empty_text")


def _source_order(source_file: str, line: int | None) -> tuple[str, int]:
    base = source_file.split("#L", 1)[0] if line is not None and "#L" in source_file else source_file
    return base, line or 0


def ingest_raw(raw_dir: Path, limits: IngestLimits | None = None,
               publication_hints: PublicationHints | None = None, cache_dir: Path | None = None,
               workers: int = 1) -> IngestResult:
    """Read every input under ``raw_dir``; return the articles and the quarantine (see module docstring).

    With ``cache_dir``, inputs unchanged since the last call with the same cache folder are not read
    again (pipeline/ingest/cache.py); the result is the same as without it. ``workers`` > 1 dates
    many texts in two processes (pipeline/ingest/parallel.py); the result is the same.
    """
    limits = limits or IngestLimits()
    if cache_dir is None:
        return _ingest(Path(raw_dir), limits, publication_hints, None, workers)
    with session(Path(cache_dir), limits, publication_hints) as cache:
        return _ingest(Path(raw_dir), limits, publication_hints, cache, workers)


def _ingest(raw_dir: Path, limits: IngestLimits, publication_hints: PublicationHints | None,
            cache: IngestCache | None, workers: int = 1) -> IngestResult:
    run = _Run(limits, default_boilerplate(), workers=workers)
    entries, skipped = discover(raw_dir)
    for s in skipped:
        run.reject(s.source_file, None, s.reason_code, s.reason, s.detail)

    sources = None
    existing = {e.source_file for e in entries}
    for e in entries:
        if e.kind == "sources":
            sources = _read_sources(run, e, raw_dir, existing - {e.source_file})
    if sources is not None:
        for e in entries:
            if e.kind == "bundle" and e.source_file in sources.by_file:
                run.issues.append(MetadataIssue(SOURCES_FILE, sources.by_file[e.source_file][0],
                                                "row refers to a bundle; bundle lines carry their own metadata, row ignored",
                                                f"file={e.source_file!r}"))
    for e in entries:
        if e.kind == "sources":
            continue
        meta = None
        if e.kind != "bundle":
            meta = sources.by_file[e.source_file][1] if sources and e.source_file in sources.by_file else Metadata()
        key = cache.key(e, meta) if cache is not None else None
        if key is not None and cache.replay(key, run):
            continue
        marks = cache.mark(run) if key is not None else None
        if e.kind == "bundle":
            _ingest_bundle(run, e)
        else:
            _ingest_file(run, e, meta)
        if key is not None:
            cache.record(key, e, run, marks)

    articles = _finish(run, publication_hints, cache.analyses if cache is not None else None)
    stats = None
    if cache is not None:
        inputs = sum(e.kind != "sources" for e in entries)
        stats = CacheStats(reused=cache.reused, read=inputs - cache.reused, written=cache.save(run.analyses))
    kept_ids = {r["source_file"]: r["article_id"] for r in articles}
    for issue in run.issues:
        run.reject(issue.source_file, issue.line, "bad_metadata", issue.message, issue.detail,
                   record_id=kept_ids.get(issue.applies_to) if issue.applies_to else None)

    articles.sort(key=lambda r: _source_order(r["source_file"], r["_line"]))
    run.quarantine.sort(key=lambda r: (_source_order(r["source_file"], r["line"]), r["reason_code"], r["detail"] or ""))
    schema = polars_schema(ArticleText)
    columns = {name: [r[name] for r in articles] for name in schema}  # faster than from rows
    columns["text"] = _text_column(columns["text"])
    del articles
    return IngestResult(
        articles=conform(pl.DataFrame(columns, schema=schema), ArticleText),
        quarantine=conform(pl.DataFrame(run.quarantine, schema=polars_schema(Quarantine)), Quarantine),
        cache=stats,
    )


def _read_sources(run: _Run, entry: Entry, raw_dir: Path, existing: set[str]):
    try:
        with open(entry.path, "rb") as f:
            data = f.read(run.limits.max_file_bytes + 1)
    except OSError as exc:
        run.issues.append(MetadataIssue(SOURCES_FILE, None, "sources.csv cannot be read; ignored", str(exc)[:300]))
        return None
    if len(data) > run.limits.max_file_bytes:
        run.issues.append(MetadataIssue(SOURCES_FILE, None, "sources.csv is larger than max_file_bytes; ignored",
                                        f"max_file_bytes={run.limits.max_file_bytes}"))
        return None
    decoded = decode_bytes(data) if not sniff_type(data) else None
    if decoded is None or decoded.text is None:
        run.issues.append(MetadataIssue(SOURCES_FILE, None, "sources.csv is not text; ignored",
                                        sniff_type(data) or (decoded.problem if decoded else None)))
        return None
    table = read_sources_csv(decoded.text, Path(raw_dir).resolve(), existing)
    run.issues.extend(table.issues)
    return table


def _prepare_texts(candidates: list[_Candidate], boilerplate: Boilerplate) -> None:
    """Normalize and strip boilerplate from the candidate texts not yet prepared, in one polars pass.

    Sets each one's stored text and ``head``: the start of the text before boilerplate removal
    when that text had content (None when it was empty or whitespace only), used for the messages.
    """
    todo = [c for c in candidates if not c.prepared]
    if not todo:
        return
    raw = pl.Series("raw", [c.text for c in todo], dtype=pl.String)
    for c in todo:
        c.text = ""  # the Series holds them now; lowers peak memory on a large corpus
    frame = pl.DataFrame({"raw": raw}).select(
        tidy_expr(boilerplate.remove_expr(clean_expr(pl.col("raw")))).alias("text"),
        pl.when(pl.col("raw").str.contains(r"[^\s\x00-\x08\x0e-\x1f\x7f\x{feff}]"))
        .then(pl.col("raw").str.slice(0, 200)).alias("head"),
    )
    del raw
    for c, text, head in zip(todo, nfc(frame["text"].to_list()), frame["head"].to_list()):
        c.text, c.head, c.prepared = text, head, True


def _finish(run: _Run, publication_hints: PublicationHints | None,
            known_analyses: dict[str, Analysis] | None = None) -> list[dict]:
    """Normalization, language check, deduplication by text, structure and publication date.

    ``known_analyses`` (sha256 -> Analysis) holds what is already known about texts (from the
    cache); the analyses of this run's texts, completed as needed, end up in ``run.analyses``.
    """
    analyses = run.analyses
    known_analyses = known_analyses or {}
    _prepare_texts(run.candidates, run.boilerplate)
    kept: dict[str, str] = {}  # sha256 -> source_file of the first (in order) article with that text
    rows: list[dict] = []
    to_date: list[tuple[dict, Analysis]] = []  # articles whose publication date is inferred below
    order = sorted(range(len(run.candidates)), key=lambda i: run.candidates[i].order)
    for i in order:
        cand = run.candidates[i]
        line = cand.order[1] or None
        text = cand.text
        n_chars = text.n_chars if isinstance(text, StoredText) else len(text)
        meta = cand.meta
        if cand.head is None:
            what = "file" if cand.empty_code == "empty_file" else "text"
            run.reject(cand.source_file, line, cand.empty_code, f"{what} is empty or whitespace only")
            continue
        if not n_chars:
            run.reject(cand.source_file, line, "only_boilerplate", "nothing is left after removing boilerplate",
                       cand.head)
            continue
        if cand.digest is None:
            cand.digest = hashlib.sha256(_str(text).encode("utf-8")).hexdigest()
        digest = cand.digest
        article_id = "a" + digest[:16]  # as article_id_of
        if meta.language is not None and meta.language != "en":
            run.reject(cand.source_file, line, "non_english",
                       f"language stated as {meta.language!r}; the extractor reads English", None, record_id=article_id)
            continue
        known = analyses.get(digest)
        if known is None:
            known = analyses[digest] = known_analyses.get(digest) or Analysis()
        if meta.language is None:
            if known.english is None:
                guess = guess_english(_str(text))
                known.english, known.guess = guess.is_english, None if guess.is_english else guess.describe()
            if not known.english:
                run.reject(cand.source_file, line, "non_english", "text does not read as English prose (too few English function words); the extractor reads English",
                           known.guess, record_id=article_id)
                continue
        if digest in kept:
            run.reject(cand.source_file, line, "duplicate_text", f"same text as {kept[digest]}", None,
                       record_id=article_id, duplicate_of=kept[digest])
            continue
        kept[digest] = cand.source_file
        if known.structure is None:
            structure = analyze(_str(text))
            known.structure = (structure.title, structure.dateline, structure.date_marker)
        title, dateline, marker = known.structure
        row = {
            "article_id": article_id, "source_file": cand.source_file,
            "title": meta.title or title, "outlet": meta.outlet, "url": meta.url,
            "published_at": None, "published_basis": None, "language": meta.language or "en",
            "n_chars": n_chars, "sha256": digest, "dateline": dateline,
            "published_after": None, "text": text, "_line": line,
        }
        if meta.published_at is not None:
            row["published_at"], row["published_basis"] = meta.published_at, "metadata"
        elif marker is not None:
            row["published_at"], row["published_basis"] = marker, "text"
        else:
            to_date.append((row, known))
        rows.append(row)
    _infer_dates(to_date, publication_hints, run.workers)
    return rows


def _infer_dates(to_date: list[tuple[dict, Analysis]], publication_hints: PublicationHints | None,
                 workers: int = 1) -> None:
    """Publication dates inferred from the text, for the articles without one stated or marked."""
    todo = [(row, known) for row, known in to_date if known.publication is None]
    if todo:
        # Year and weekday tokens for publication-date inference, found for these texts in one
        # Rust regex pass (Python's re needs ~4 s for the same on the 33k corpus).
        texts = [_str(row["text"]) for row, _ in todo]
        series = pl.Series(texts, dtype=pl.String)
        year_col = series.str.extract_all(YEAR_TOKEN_PATTERN).to_list()
        weekday_col = series.str.contains(WEEKDAY_TOKEN_PATTERN).to_list()
        del series
        dated = infer_dates(texts, year_col, weekday_col, publication_hints, workers)
        for (_, known), publication in zip(todo, dated):
            known.publication = publication
    for row, known in to_date:
        published_at, basis, after = known.publication
        row["published_at"], row["published_basis"] = published_at, basis
        row["published_after"] = after if published_at is None else None


def _text_column(values: list[str | StoredText]) -> pl.Series:
    """The texts as a Series; cached ones are gathered from their Series, not copied through Python."""
    if not any(isinstance(v, StoredText) for v in values):
        return pl.Series("text", values, dtype=pl.String)
    parts: list[pl.Series] = []
    offsets: dict[int, int] = {}  # id(series) -> offset in the concatenation
    total = 0
    for v in values:
        if isinstance(v, StoredText) and id(v.series) not in offsets:
            offsets[id(v.series)] = total
            parts.append(v.series)
            total += v.series.len()
    fresh = [v for v in values if not isinstance(v, StoredText)]
    index, k = [], total
    for v in values:
        if isinstance(v, StoredText):
            index.append(offsets[id(v.series)] + v.index)
        else:
            index.append(k)
            k += 1
    parts.append(pl.Series(fresh, dtype=pl.String))
    return pl.concat([p.cast(pl.String).rename("text") for p in parts]).gather(index)
