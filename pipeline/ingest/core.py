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

from pipeline.extract.dates import WEEKDAY_TOKEN_PATTERN, YEAR_TOKEN_PATTERN, infer_publication_date
from pipeline.ingest.bundle import BundleStop, read_bundle
from pipeline.ingest.decode import decode_bytes, looks_like_html, sniff_type
from pipeline.ingest.discover import Entry, discover
from pipeline.ingest.html import extract_html
from pipeline.ingest.language import guess_english
from pipeline.ingest.metadata import (
    SOURCES_FILE, Metadata, MetadataIssue, metadata_from_fields, read_sources_csv,
)
from pipeline.ingest.normalize import Boilerplate, clean_expr, default_boilerplate, nfc, tidy_expr
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


@dataclass
class _Candidate:
    order: tuple[str, int]
    source_file: str
    text: str  # as decoded; normalized in _finish
    meta: Metadata
    empty_code: str  # reason code when nothing is left: empty_file (a file) or empty_text (a bundle line)


@dataclass
class _Run:
    limits: IngestLimits
    boilerplate: Boilerplate
    candidates: list[_Candidate] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    issues: list[MetadataIssue] = field(default_factory=list)

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
               publication_hints: PublicationHints | None = None) -> IngestResult:
    """Read every input under ``raw_dir``; return the articles and the quarantine (see module docstring)."""
    raw_dir = Path(raw_dir)
    run = _Run(limits or IngestLimits(), default_boilerplate())
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
        if e.kind == "bundle":
            _ingest_bundle(run, e)
        else:
            meta = sources.by_file[e.source_file][1] if sources and e.source_file in sources.by_file else Metadata()
            _ingest_file(run, e, meta)

    articles = _finish(run, publication_hints)
    kept_ids = {r["source_file"]: r["article_id"] for r in articles}
    for issue in run.issues:
        run.reject(issue.source_file, issue.line, "bad_metadata", issue.message, issue.detail,
                   record_id=kept_ids.get(issue.applies_to) if issue.applies_to else None)

    articles.sort(key=lambda r: _source_order(r["source_file"], r["_line"]))
    for r in articles:
        del r["_line"]
    run.quarantine.sort(key=lambda r: (_source_order(r["source_file"], r["line"]), r["reason_code"], r["detail"] or ""))
    return IngestResult(
        articles=conform(pl.DataFrame(articles, schema=polars_schema(ArticleText)), ArticleText),
        quarantine=conform(pl.DataFrame(run.quarantine, schema=polars_schema(Quarantine)), Quarantine),
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


def _prepare_texts(run: _Run) -> tuple[list[str], list[str | None]]:
    """Normalize and strip boilerplate from all candidate texts in one polars pass.

    Returns the stored texts and, for each, the start of the text before boilerplate removal when
    that text had content (None when it was empty or whitespace only): used for the messages.
    """
    raw = pl.Series("raw", [c.text for c in run.candidates], dtype=pl.String)
    for c in run.candidates:
        c.text = ""  # the Series holds them now; lowers peak memory on a large corpus
    frame = pl.DataFrame({"raw": raw}).select(
        tidy_expr(run.boilerplate.remove_expr(clean_expr(pl.col("raw")))).alias("text"),
        pl.when(pl.col("raw").str.contains(r"[^\s\x00-\x08\x0e-\x1f\x7f\x{feff}]"))
        .then(pl.col("raw").str.slice(0, 200)).alias("head"),
    )
    del raw
    return nfc(frame["text"].to_list()), frame["head"].to_list()


def _finish(run: _Run, publication_hints: PublicationHints | None) -> list[dict]:
    """Normalization, language check, deduplication by text, structure and publication date."""
    text_col, head_col = _prepare_texts(run)
    # Year and weekday tokens for publication-date inference, found for every text in one Rust
    # regex pass (Python's re needs ~4 s for the same on the 33k corpus).
    texts = pl.Series(text_col, dtype=pl.String)
    year_col = texts.str.extract_all(YEAR_TOKEN_PATTERN).to_list()
    weekday_col = texts.str.contains(WEEKDAY_TOKEN_PATTERN).to_list()
    del texts
    kept: dict[str, str] = {}  # sha256 -> source_file of the first (in order) article with that text
    rows: list[dict] = []
    order = sorted(range(len(run.candidates)), key=lambda i: run.candidates[i].order)
    for i in order:
        cand = run.candidates[i]
        line = cand.order[1] or None
        text = text_col[i]
        meta = cand.meta
        if head_col[i] is None:
            what = "file" if cand.empty_code == "empty_file" else "text"
            run.reject(cand.source_file, line, cand.empty_code, f"{what} is empty or whitespace only")
            continue
        if not text:
            run.reject(cand.source_file, line, "only_boilerplate", "nothing is left after removing boilerplate",
                       head_col[i])
            continue
        article_id, digest = article_id_of(text)
        if meta.language is not None and meta.language != "en":
            run.reject(cand.source_file, line, "non_english",
                       f"language stated as {meta.language!r}; the extractor reads English", None, record_id=article_id)
            continue
        if meta.language is None:
            guess = guess_english(text)
            if not guess.is_english:
                run.reject(cand.source_file, line, "non_english", "text does not read as English prose (too few English function words); the extractor reads English",
                           guess.describe(), record_id=article_id)
                continue
        if digest in kept:
            run.reject(cand.source_file, line, "duplicate_text", f"same text as {kept[digest]}", None,
                       record_id=article_id, duplicate_of=kept[digest])
            continue
        kept[digest] = cand.source_file
        structure = analyze(text)
        if meta.published_at is not None:
            published_at, basis, after = meta.published_at, "metadata", None
        elif structure.date_marker is not None:
            published_at, basis, after = structure.date_marker, "text", None
        else:
            hints = tuple(publication_hints(text)) if publication_hints is not None else ()
            pub = infer_publication_date(text, hints, years=year_col[i], has_weekday=weekday_col[i])
            published_at, basis, after = pub.published_at, pub.basis, pub.published_after
        rows.append({
            "article_id": article_id, "source_file": cand.source_file,
            "title": meta.title or structure.title, "outlet": meta.outlet, "url": meta.url,
            "published_at": published_at, "published_basis": basis, "language": meta.language or "en",
            "n_chars": len(text), "sha256": digest, "dateline": structure.dateline,
            "published_after": after if published_at is None else None, "text": text, "_line": line,
        })
    return rows
