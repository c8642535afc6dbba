"""Ingest: a raw folder -> articles (decoded, normalized, deduplicated) + quarantine (everything else).

Every input is accounted for: each file, and each line of each bundle, ends up either as an
article's ``source_file`` or as a quarantine row (stage "ingest") with a reason code and a message.
Plain Python/polars; the stage function (stage.py: ingest_articles) calls :func:`ingest_raw`.

Reason codes: hidden_file, symlink_outside, symlink_dir, not_regular_file, unreadable (walk);
empty_file, binary_file, not_article_type (magic bytes), unsupported_type, no_text (HTML),
too_large (files, texts, bundle lines); broken_json, not_an_object, missing_text, blank_line,
empty_text, bundle_too_large, corrupt_bundle (bundles); only_boilerplate, non_english,
duplicate_text (texts); bad_metadata (sources.csv rows, bundle fields, HTML meta; the article is
kept without the bad value); encoding_repaired (a UTF-8 text with lines in a legacy encoding, read
line by line; the article is kept); too_many_problems (see below).

Bounded rows per input: a run of bundle lines set aside for the same reason is one row that says
how many lines and which (a 4.9 KB gzip of 5 million blank lines once made 5 million rows, 4.1 GB
of memory and a 434 MB release); at most MAX_QUARANTINE_ROWS_PER_INPUT rows are listed for one
input, and one more row counts the rest by reason code. A bundle yields at most
``max_bundle_records`` records, so memory follows what is read, not how many lines a gzip holds.

Bundle lines are named "<path>#L<n>" (also in quarantine, with ``line`` = n); rows about a whole
bundle or about sources.csv carry the path and the line where it happened. Output order: by path,
then line number (so "#L2" sorts before "#L10").
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline import progress
from pipeline.ingest.bundle import BundleStop, read_bundle
from pipeline.ingest.cache import (
    ANALYSES,
    CANDIDATES,
    CacheStats,
    IngestCache,
    empty_analyses,
    empty_candidates,
    session,
)
from pipeline.ingest.decode import decode_bytes, looks_like_html, sniff_type
from pipeline.ingest.discover import Entry, discover
from pipeline.ingest.html import extract_html
from pipeline.ingest.language import guess_english
from pipeline.ingest.metadata import (
    FIELDS,
    SOURCES_FILE,
    Metadata,
    MetadataIssue,
    metadata_from_fields,
    read_sources_csv,
)
from pipeline.ingest.normalize import Boilerplate, clean_expr, default_boilerplate, nfc, tidy_expr
from pipeline.ingest.parallel import infer_dates
from pipeline.ingest.structure import analyze
from pipeline.text.dates import WEEKDAY_TOKEN_PATTERN, YEAR_TOKEN_PATTERN
from schemas.models import ArticleText, Quarantine, conform, polars_schema

STAGE = "ingest"
PublicationHints = Callable[[str], list[dt.date]]
# Rows listed per input before the rest are counted in one row: far more than a person reads, and
# 1,000 rows of the longest reasons are about 300 KB of release.
MAX_QUARANTINE_ROWS_PER_INPUT = 1000
TOO_MANY = "too_many_problems"


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
    # Records (non-blank lines) read from one bundle: 7x the 33,692 of the largest corpus. Each is
    # a text held until the cross-input steps, so this, not the bytes, bounds a bundle's memory.
    max_bundle_records: int = 250_000


@dataclass(frozen=True)
class IngestResult:
    articles: pl.DataFrame  # schemas.models.ArticleText columns
    quarantine: pl.DataFrame  # schemas.models.Quarantine columns, stage "ingest"
    cache: CacheStats | None = None  # with a cache_dir: inputs reused from the cache / read


@dataclass
class _Candidate:
    """A text read in this run (cached inputs' texts are rows of a CANDIDATES frame instead)."""

    order: tuple[str, int]
    source_file: str
    text: str  # as decoded; normalized by _prepare_texts
    meta: Metadata
    empty_code: str  # reason code when nothing is left: empty_file (a file) or empty_text (a bundle line)
    key: str | None = None  # cache entry key of its input, when it is cached (set by IngestCache.record)


@dataclass
class _Run:
    limits: IngestLimits
    boilerplate: Boilerplate
    candidates: list[_Candidate] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    issues: list[MetadataIssue] = field(default_factory=list)
    workers: int = 1  # processes for publication-date inference (pipeline/ingest/parallel.py)

    def reject(
        self,
        source_file: str,
        line: int | None,
        code: str,
        reason: str,
        detail: str | None = None,
        record_id: str | None = None,
        duplicate_of: str | None = None,
    ) -> None:
        self.quarantine.append(
            {
                "source_file": source_file,
                "line": line,
                "stage": STAGE,
                "reason_code": code,
                "reason": reason,
                "record_id": record_id,
                "duplicate_of": duplicate_of,
                "detail": detail,
            }
        )

    def add_text(
        self,
        order: tuple[str, int],
        source_file: str,
        line: int | None,
        raw_text: str,
        meta: Metadata,
        *,
        empty_code: str,
    ) -> None:
        """Keep a decoded text for normalization (in one batch, see _finish), unless it is too large."""
        limit = self.limits.max_article_chars
        if len(raw_text) > limit:
            self.reject(
                source_file,
                line,
                "too_large",
                f"text has {len(raw_text):,} characters, above the limit of {limit:,}",
                f"max_article_chars={limit}",
            )
            return
        self.candidates.append(_Candidate(order, source_file, raw_text, meta, empty_code))


def article_id_of(text: str) -> tuple[str, str]:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return "a" + digest[:16], digest


def _merge(primary: Metadata, fallback: Metadata | None) -> Metadata:
    if fallback is None:
        return primary
    return Metadata(
        **{k: getattr(primary, k) if getattr(primary, k) is not None else getattr(fallback, k) for k in FIELDS}
    )


def _ingest_file(run: _Run, entry: Entry, meta: Metadata) -> None:
    limits = run.limits
    try:
        with open(entry.path, "rb") as f:
            data = f.read(limits.max_file_bytes + 1)
    except OSError as exc:
        run.reject(entry.source_file, None, "unreadable", "file cannot be read", f"{type(exc).__name__}: {exc}"[:300])
        return
    if len(data) > limits.max_file_bytes:
        run.reject(
            entry.source_file,
            None,
            "too_large",
            f"file is larger than the limit of {limits.max_file_bytes:,} bytes; not read further",
            f"size={entry.size:,} bytes; read {len(data):,}; max_file_bytes={limits.max_file_bytes}",
        )
        return
    if not data.strip():
        run.reject(
            entry.source_file,
            None,
            "empty_file",
            "file is empty" if not data else "file is whitespace only",
            f"{len(data)} bytes",
        )
        return
    kind = sniff_type(data)
    if kind is not None:
        run.reject(
            entry.source_file,
            None,
            "not_article_type",
            f"not an article: {kind} (detected by magic bytes)",
            f"first bytes: {data[:8]!r}",
        )
        return
    if entry.kind == "other":
        run.reject(
            entry.source_file,
            None,
            "unsupported_type",
            "not an article file type (articles are .txt/.html files or .jsonl/.jsonl.gz bundles)",
            f"size={entry.size:,} bytes",
        )
        return
    decoded = decode_bytes(data)
    if decoded.text is None:
        run.reject(entry.source_file, None, "binary_file", "file is binary, not text", decoded.problem)
        return
    if decoded.repaired_lines:
        lines = decoded.repaired_lines
        shown = ", ".join(map(str, lines[:20])) + (f" and {len(lines) - 20} more" if len(lines) > 20 else "")
        run.issues.append(
            MetadataIssue(
                entry.source_file,
                None,
                f"text is UTF-8 except {'line' if len(lines) == 1 else 'lines'} {shown}, "
                f"read as {decoded.repaired_with}; the article is kept with those lines repaired",
                f"{len(lines)} of the text's lines not UTF-8",
                entry.source_file,
                code="encoding_repaired",
            )
        )
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
            entry.source_file,
            None,
            entry.source_file,
            run.issues,
        )
    run.add_text(
        (entry.source_file, 0), entry.source_file, None, text, _merge(meta, html_meta), empty_code="empty_file"
    )


@dataclass
class _LineRun:
    first: int
    last: int
    code: str
    reason: str
    detail: str | None


class _LineProblems:
    """The quarantine rows of one bundle's lines, bounded: consecutive lines with the same reason
    become one row, and past MAX_QUARANTINE_ROWS_PER_INPUT rows the lines are only counted."""

    def __init__(self, run: _Run, source_file: str):
        self.run, self.source_file = run, source_file
        self.pending: _LineRun | None = None
        self.rows = 0
        self.left_out: dict[str, int] = {}
        self.first_left_out: int | None = None

    def add(self, line: int, code: str, reason: str, detail: str | None, last: int | None = None) -> None:
        """Lines ``line`` to ``last`` (default: the one line) set aside for ``reason``."""
        last = line if last is None else last
        p = self.pending
        if p is not None and p.code == code and p.reason == reason and line == p.last + 1:
            p.last = last
            return
        self.flush()
        self.pending = _LineRun(line, last, code, reason, detail)

    def flush(self) -> None:
        p, self.pending = self.pending, None
        if p is None:
            return
        count = p.last - p.first + 1
        if self.rows >= MAX_QUARANTINE_ROWS_PER_INPUT:
            self.left_out[p.code] = self.left_out.get(p.code, 0) + count
            self.first_left_out = p.first if self.first_left_out is None else self.first_left_out
            return
        self.rows += 1
        reason = p.reason if count == 1 else f"{p.reason} ({count:,} lines in a row: lines {p.first:,}-{p.last:,})"
        self.run.reject(f"{self.source_file}#L{p.first}", p.first, p.code, reason, p.detail)

    def close(self) -> None:
        self.flush()
        if self.left_out:
            n = sum(self.left_out.values())
            self.run.reject(
                f"{self.source_file}#L{self.first_left_out}",
                self.first_left_out,
                TOO_MANY,
                f"{n:,} more lines of this bundle set aside, not listed one by one "
                f"(at most {MAX_QUARANTINE_ROWS_PER_INPUT:,} rows per input)",
                "; ".join(f"{code}: {k:,} lines" for code, k in sorted(self.left_out.items())),
            )


def _ingest_bundle(run: _Run, entry: Entry) -> None:
    limits = run.limits
    problems = _LineProblems(run, entry.source_file)
    records = 0
    lines = read_bundle(entry.path, limits.max_line_bytes, limits.max_bundle_bytes)
    for item in progress.track(lines, f"reading {entry.source_file}", unit="lines"):
        if isinstance(item, BundleStop):
            problems.flush()
            run.reject(entry.source_file, item.line, item.code, item.reason, item.detail)
            continue
        name = f"{entry.source_file}#L{item.line}"
        if item.record is None:
            problems.add(item.line, item.problem_code, item.problem, item.detail, item.last)
            continue
        text = item.record.get("text")
        if not isinstance(text, str):
            why = "has no 'text' field" if text is None else f"'text' is a {type(text).__name__}, not a string"
            problems.add(item.line, "missing_text", f"bundle line {why}", f"keys={sorted(map(str, item.record))[:20]}")
            continue
        records += 1
        if records > limits.max_bundle_records:
            problems.flush()
            run.reject(
                entry.source_file,
                item.line,
                "bundle_too_large",
                f"bundle holds more than the limit of {limits.max_bundle_records:,} records; reading stopped "
                f"at line {item.line:,} (this and later lines not read)",
                f"max_bundle_records={limits.max_bundle_records:,}",
            )
            break
        meta = metadata_from_fields(item.record, name, item.line, name, run.issues)
        run.add_text((entry.source_file, item.line), name, item.line, text, meta, empty_code="empty_text")
    problems.close()


def ingest_raw(
    raw_dir: Path,
    limits: IngestLimits | None = None,
    publication_hints: PublicationHints | None = None,
    cache_dir: Path | None = None,
    workers: int = 1,
) -> IngestResult:
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


def _ingest(
    raw_dir: Path,
    limits: IngestLimits,
    publication_hints: PublicationHints | None,
    cache: IngestCache | None,
    workers: int = 1,
) -> IngestResult:
    run = _Run(limits, default_boilerplate(), workers=workers)
    entries, skipped = discover(raw_dir)
    for s in skipped:
        run.reject(s.source_file, None, s.reason_code, s.reason, s.detail)

    sources = None
    existing = {e.source_file for e in entries}
    for e in entries:
        if e.kind == "sources":
            sources = _read_sources(run, e, raw_dir, existing - {e.source_file})
    # A bundle's row gives only when the bundle was collected (applied to its lines after the
    # cache, so a changed collected_at needs no re-read); its lines carry their other metadata.
    bundle_collected: dict[str, dt.date] = {}
    if sources is not None:
        for e in entries:
            if e.kind == "bundle" and e.source_file in sources.by_file:
                line, meta = sources.by_file[e.source_file]
                if meta.collected_at is not None:
                    bundle_collected[e.source_file] = meta.collected_at
                other = [k for k in FIELDS if k != "collected_at" and getattr(meta, k) is not None]
                if other or meta.collected_at is None:
                    run.issues.append(
                        MetadataIssue(
                            SOURCES_FILE,
                            line,
                            "row refers to a bundle; bundle lines carry their own metadata, only collected_at "
                            "applies to a bundle"
                            + (f"; {', '.join(other)} ignored" if other else "; nothing to apply"),
                            f"file={e.source_file!r}",
                        )
                    )
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

    cached = cache.candidates() if cache is not None else empty_candidates()
    fresh = _prepare_texts(run.candidates, run.boilerplate)
    run.candidates = []  # their texts are in ``fresh`` now
    articles, rejected, analyses, late_issues = _finish(
        pl.concat([cached, fresh]),
        cache.analyses if cache is not None else None,
        publication_hints,
        run.workers,
        bundle_collected,
    )
    run.issues.extend(late_issues)
    del cached
    stats = None
    if cache is not None:
        inputs = sum(e.kind != "sources" for e in entries)
        stats = CacheStats(reused=cache.reused, read=inputs - cache.reused, written=cache.save(fresh, analyses))
    del fresh

    # Both in output order: by path, then line (see the module docstring); nearly sorted already.
    articles = articles.sort(*_source_order(), maintain_order=True)
    return IngestResult(
        articles=conform(articles, ArticleText),
        quarantine=conform(_quarantine(run, rejected, articles), Quarantine),
        cache=stats,
    )


def _quarantine(run: _Run, rejected: pl.DataFrame, articles: pl.DataFrame) -> pl.DataFrame:
    """All quarantine rows in output order: those found while reading, the rejected candidates,
    and the metadata issues (bad_metadata, naming the article concerned when it was kept)."""
    schema = polars_schema(Quarantine)
    issues = pl.DataFrame(
        {
            "source_file": [i.source_file for i in run.issues],
            "line": [i.line for i in run.issues],
            "reason_code": [i.code for i in run.issues],
            "reason": [i.message for i in run.issues],
            "detail": [i.detail for i in run.issues],
            "applies_to": [i.applies_to for i in run.issues],
        },
        schema={
            "source_file": pl.String,
            "line": pl.Int64,
            "reason_code": pl.String,
            "reason": pl.String,
            "detail": pl.String,
            "applies_to": pl.String,
        },
    )
    ids = articles.select(pl.col("source_file").alias("applies_to"), pl.col("article_id").alias("record_id"))
    issues = issues.join(ids, on="applies_to", how="left", maintain_order="left").select(
        "source_file",
        "line",
        pl.lit(STAGE).alias("stage"),
        "reason_code",
        "reason",
        "record_id",
        pl.lit(None, pl.String).alias("duplicate_of"),
        "detail",
    )
    rows = pl.concat([pl.DataFrame(run.quarantine, schema=schema), rejected.cast(schema), issues.cast(schema)])
    # By path and line, then reason code and detail. Stable: rows equal in all of these keep the
    # order they were found in. (Strings sort by UTF-8 bytes, which is code point order.)
    rows = rows.sort(*_source_order(), "reason_code", pl.col("detail").fill_null(""), maintain_order=True)
    return _capped(rows)


def _capped(rows: pl.DataFrame) -> pl.DataFrame:
    """At most MAX_QUARANTINE_ROWS_PER_INPUT rows per input (a bundle's lines count as its rows);
    the rest of an input's rows become one too_many_problems row with their count by reason code.
    (Line problems are already bounded while a bundle is read; this bounds the rest, such as the
    duplicates and non-English texts of a bundle.)"""
    base = _source_order()[0].alias("_input")
    # A too_many_problems row written while a bundle was read counts no row of its own.
    listed = pl.col("reason_code") != TOO_MANY
    rows = rows.with_columns(base).with_columns(
        pl.when(listed).then(listed.cast(pl.Int64).cum_sum().over("_input") - 1).otherwise(-1).alias("_n")
    )
    over = rows.filter(pl.col("_n") >= MAX_QUARANTINE_ROWS_PER_INPUT)
    if over.is_empty():
        return rows.drop("_input", "_n")
    summary = (
        over.group_by("_input", "reason_code", maintain_order=True)
        .agg(pl.len().alias("k"), pl.col("line").first().alias("first_line"))
        .group_by("_input", maintain_order=True)
        .agg(
            pl.col("k").sum().alias("n"),
            pl.col("first_line").first(),
            pl.format("{}: {} rows", "reason_code", "k").str.join("; ").alias("detail"),
        )
        .select(
            pl.col("_input").alias("source_file"),
            pl.col("first_line").alias("line"),
            pl.lit(STAGE).alias("stage"),
            pl.lit(TOO_MANY).alias("reason_code"),
            pl.format(
                "{} more rows about this input set aside, not listed one by one (at most {} rows per input)",
                pl.col("n"),
                pl.lit(f"{MAX_QUARANTINE_ROWS_PER_INPUT:,}"),
            ).alias("reason"),
            pl.lit(None, pl.String).alias("record_id"),
            pl.lit(None, pl.String).alias("duplicate_of"),
            "detail",
        )
    )
    kept = rows.filter(pl.col("_n") < MAX_QUARANTINE_ROWS_PER_INPUT).drop("_input", "_n")
    return pl.concat([kept, summary.cast(kept.schema)]).sort(*_source_order(), maintain_order=True)


def _read_sources(run: _Run, entry: Entry, raw_dir: Path, existing: set[str]):
    try:
        with open(entry.path, "rb") as f:
            data = f.read(run.limits.max_file_bytes + 1)
    except OSError as exc:
        run.issues.append(MetadataIssue(SOURCES_FILE, None, "sources.csv cannot be read; ignored", str(exc)[:300]))
        return None
    if len(data) > run.limits.max_file_bytes:
        run.issues.append(
            MetadataIssue(
                SOURCES_FILE,
                None,
                "sources.csv is larger than max_file_bytes; ignored",
                f"max_file_bytes={run.limits.max_file_bytes}",
            )
        )
        return None
    decoded = decode_bytes(data) if not sniff_type(data) else None
    if decoded is None or decoded.text is None:
        run.issues.append(
            MetadataIssue(
                SOURCES_FILE,
                None,
                "sources.csv is not text; ignored",
                sniff_type(data) or (decoded.problem if decoded else None),
            )
        )
        return None
    table = read_sources_csv(decoded.text, Path(raw_dir).resolve(), existing)
    run.issues.extend(table.issues)
    return table


def _prepare_texts(candidates: list[_Candidate], boilerplate: Boilerplate) -> pl.DataFrame:
    """The candidates read in this run as a CANDIDATES frame: texts normalized and stripped of
    boilerplate in one polars pass, with their length, sha256 and ``head`` (the start of the text
    before boilerplate removal when it had content; null when it was empty or whitespace only)."""
    if not candidates:
        return empty_candidates()
    raw = pl.Series("raw", [c.text for c in candidates], dtype=pl.String)
    for c in candidates:
        c.text = ""  # the Series holds them now; lowers peak memory on a large corpus
    frame = pl.DataFrame({"raw": raw}).select(
        tidy_expr(boilerplate.remove_expr(clean_expr(pl.col("raw")))).alias("text"),
        pl.when(pl.col("raw").str.contains(r"[^\s\x00-\x08\x0e-\x1f\x7f\x{feff}]"))
        .then(pl.col("raw").str.slice(0, 200))
        .alias("head"),
    )
    del raw
    texts = nfc(frame["text"].to_list())
    columns = {
        "key": [c.key for c in candidates],
        "order_path": [c.order[0] for c in candidates],
        "order_line": [c.order[1] for c in candidates],
        "source_file": [c.source_file for c in candidates],
        "text": texts,
        "n_chars": [len(t) for t in texts],
        "head": frame["head"],
        "digest": [hashlib.sha256(t.encode("utf-8")).hexdigest() if t else None for t in texts],
        "code": [c.empty_code for c in candidates],
        **{name: [getattr(c.meta, name) for c in candidates] for name in FIELDS},
    }
    return pl.DataFrame(columns, schema=CANDIDATES)


# Why a candidate is not an article, in the order the checks apply (a text is rejected by the first).
_EMPTY, _BOILERPLATE, _STATED, _GUESSED, _DUPLICATE = "empty", "boilerplate", "stated", "guessed", "duplicate"
_NOT_ENGLISH = "text does not read as English prose (too few English function words); the extractor reads English"


def _finish(
    candidates: pl.DataFrame,
    known: pl.DataFrame | None,
    publication_hints: PublicationHints | None,
    workers: int = 1,
    bundle_collected: dict[str, dt.date] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[MetadataIssue]]:
    """Language check, deduplication by text, structure and publication date, on the candidates of
    all inputs (a CANDIDATES frame, cached and fresh alike).

    ``known`` (ANALYSES rows) is what is already known about texts (from the cache). Returns the
    articles (ArticleText columns and ``line``, in input order), the rejected candidates (Quarantine columns) and
    the analyses of this run's texts, completed as needed (to cache), and the metadata issues found
    here (a stated publication date after the input's collection date). ``bundle_collected``: the
    collected_at sources.csv gives each bundle (by path). Only texts whose analysis part is missing
    become Python strings; everything else runs on columns.
    """
    # Candidates are decided one after the other in input order: the first of equal texts is kept.
    # The order is unique (a file, or a bundle and a line), so the sort is a total order.
    c = candidates.sort("order_path", "order_line").with_row_index("i")
    c = c.with_columns(
        status=pl.when(pl.col("head").is_null())
        .then(pl.lit(_EMPTY))
        .when(pl.col("n_chars") == 0)
        .then(pl.lit(_BOILERPLATE))
        .when(pl.col("language").is_not_null() & (pl.col("language") != "en"))
        .then(pl.lit(_STATED))
    )
    # The texts that get past these checks are analysed (as far as needed), each once.
    reached = c.filter(pl.col("status").is_null())
    analyses = (
        reached.select(pl.col("digest").alias("key"))
        .unique(maintain_order=True)
        .join(known if known is not None else empty_analyses(), on="key", how="left", maintain_order="left")
        .with_columns(pl.col("has_structure", "has_publication").fill_null(False))
    )

    # Language guess, for texts without a stated language.
    todo = _missing(reached.filter(pl.col("language").is_null()), analyses, pl.col("english").is_null())
    if todo.height:
        guesses = [guess_english(t) for t in progress.track(todo["text"].to_list(), "language", unit="texts")]
        analyses = analyses.update(
            pl.DataFrame(
                {
                    "key": todo["digest"],
                    "english": [g.is_english for g in guesses],
                    "guess": [None if g.is_english else g.describe() for g in guesses],
                },
                schema={n: ANALYSES[n] for n in ("key", "english", "guess")},
            ),
            on="key",
            include_nulls=True,
        )
    c = c.join(
        analyses.select("key", "english", "guess"), left_on="digest", right_on="key", how="left", maintain_order="left"
    ).with_columns(
        status=pl.when(pl.col("status").is_null() & pl.col("language").is_null() & ~pl.col("english"))
        .then(pl.lit(_GUESSED))
        .otherwise(pl.col("status"))
    )

    # Duplicates: among the texts still in, each later occurrence of a text (in input order).
    survivors = c.filter(pl.col("status").is_null()).with_columns(
        duplicate_of=pl.col("source_file").first().over("digest"),
        status=pl.when(~pl.col("digest").is_first_distinct()).then(pl.lit(_DUPLICATE)),
    )
    kept = survivors.filter(pl.col("status").is_null())

    # When the input was collected: its own field (file row, bundle line), else its bundle's row.
    # A stated publication date after it contradicts it: reported, and the article is dated as if
    # no date were stated.
    by_bundle = pl.DataFrame(
        {"order_path": list((bundle_collected or {}).keys()), "__bundle_at": list((bundle_collected or {}).values())},
        schema={"order_path": pl.String, "__bundle_at": pl.Date},
    )
    kept = (
        kept.join(by_bundle, on="order_path", how="left", maintain_order="left")
        .with_columns(pl.coalesce("collected_at", "__bundle_at").alias("collected_at"))
        .drop("__bundle_at")
    )
    late = kept.filter(pl.col("published_at") > pl.col("collected_at"))
    late_issues = [
        MetadataIssue(
            SOURCES_FILE if line == 0 else source_file,
            None if line == 0 else line,
            f"published_at {pub} is after the input's collected_at {col}; the article is kept without it",
            f"published_at={pub.isoformat()!r}, collected_at={col.isoformat()!r}",
            source_file,
        )
        for source_file, line, pub, col in late.select(
            "source_file", "order_line", "published_at", "collected_at"
        ).iter_rows()
    ]
    kept = kept.with_columns(
        pl.when(pl.col("published_at") > pl.col("collected_at"))
        .then(None)
        .otherwise(pl.col("published_at"))
        .alias("published_at")
    )

    # Structure (title, dateline, date marker) of the kept texts.
    todo = _missing(kept, analyses, ~pl.col("has_structure"))
    if todo.height:
        texts = todo["text"].to_list()
        structures = [analyze(t) for t in progress.track(texts, "titles and datelines", unit="texts")]
        analyses = analyses.update(
            pl.DataFrame(
                {
                    "key": todo["digest"],
                    "has_structure": [True] * todo.height,
                    "s_title": [s.title for s in structures],
                    "s_dateline": [s.dateline for s in structures],
                    "s_marker": [s.date_marker for s in structures],
                },
                schema={n: ANALYSES[n] for n in ("key", "has_structure", "s_title", "s_dateline", "s_marker")},
            ),
            on="key",
            include_nulls=True,
        )
    kept = kept.join(
        analyses.select("key", "s_title", "s_dateline", "s_marker"),
        left_on="digest",
        right_on="key",
        how="left",
        maintain_order="left",
    )

    # Publication date inferred from the text, for the articles that neither state one nor mark one.
    undated = pl.col("published_at").is_null() & pl.col("s_marker").is_null()
    todo = _missing(kept.filter(undated), analyses, ~pl.col("has_publication"))
    if todo.height:
        dated = _infer_dates(todo["text"].to_list(), publication_hints, workers)
        analyses = analyses.update(
            pl.DataFrame(
                {
                    "key": todo["digest"],
                    "has_publication": [True] * todo.height,
                    "p_published_at": [d[0] for d in dated],
                    "p_basis": [d[1] for d in dated],
                    "p_after": [d[2] for d in dated],
                },
                schema={n: ANALYSES[n] for n in ("key", "has_publication", "p_published_at", "p_basis", "p_after")},
            ),
            on="key",
            include_nulls=True,
        )
    kept = kept.join(
        analyses.select("key", "p_published_at", "p_basis", "p_after"),
        left_on="digest",
        right_on="key",
        how="left",
        maintain_order="left",
    )

    # Nothing passes the collection date (text/dates/publication.cap_publication, in columns): a
    # marker or an inferred date after it is dropped, so is a lower bound after it. The cached
    # inference is a function of the text alone, so a changed collected_at costs no re-reading.
    cap = pl.col("collected_at")
    kept = kept.with_columns(
        pl.when(pl.col("s_marker") > cap).then(None).otherwise(pl.col("s_marker")).alias("s_marker"),
        pl.when(pl.col("p_published_at") > cap).then(None).otherwise(pl.col("p_basis")).alias("p_basis"),
        pl.when(pl.col("p_published_at") > cap).then(None).otherwise(pl.col("p_published_at")).alias("p_published_at"),
        pl.when(pl.col("p_after") > cap).then(None).otherwise(pl.col("p_after")).alias("p_after"),
    ).with_columns(pl.col("p_basis").fill_null("unknown"))
    stated_date, marker = pl.col("published_at").is_not_null(), pl.col("s_marker").is_not_null()
    articles = kept.select(
        _ARTICLE_ID.alias("article_id"),
        "source_file",
        # meta.title or the title found in the text (an empty title counts as none)
        pl.when(pl.col("title").is_not_null() & (pl.col("title") != ""))
        .then(pl.col("title"))
        .otherwise(pl.col("s_title"))
        .alias("title"),
        "outlet",
        "url",
        pl.when(stated_date)
        .then(pl.col("published_at"))
        .when(marker)
        .then(pl.col("s_marker"))
        .otherwise(pl.col("p_published_at"))
        .alias("published_at"),
        pl.when(stated_date)
        .then(pl.lit("metadata"))
        .when(marker)
        .then(pl.lit("text"))
        .otherwise(pl.col("p_basis"))
        .alias("published_basis"),
        pl.col("language").fill_null("en"),
        "n_chars",
        pl.col("digest").alias("sha256"),
        pl.col("s_dateline").alias("dateline"),
        pl.when(~stated_date & ~marker & pl.col("p_published_at").is_null())
        .then(pl.col("p_after"))
        .alias("published_after"),
        "collected_at",
        "text",
        pl.when(pl.col("order_line") != 0).then(pl.col("order_line")).alias("line"),
    )
    rejected = pl.concat(
        [
            c.filter(pl.col("status").is_not_null()).with_columns(pl.lit(None, pl.String).alias("duplicate_of")),
            survivors.filter(pl.col("status").is_not_null()).select(*c.columns, "duplicate_of"),
        ]
    )
    return articles, _rejections(rejected.sort("i")), analyses, late_issues


_ARTICLE_ID = pl.lit("a") + pl.col("digest").str.slice(0, 16)  # as article_id_of


def _missing(rows: pl.DataFrame, analyses: pl.DataFrame, missing: pl.Expr) -> pl.DataFrame:
    """digest and text of each distinct text of ``rows`` whose analysis lacks a part (``missing``)."""
    lacking = analyses.filter(missing).select(pl.col("key").alias("digest"))
    return (
        rows.select("digest", "text")
        .join(lacking, on="digest", how="semi", maintain_order="left")
        .unique("digest", maintain_order=True)
    )


def _rejections(rejected: pl.DataFrame) -> pl.DataFrame:
    """Quarantine rows for the rejected candidates (``status`` says why; see _finish)."""
    status = pl.col("status")
    stated = rejected.filter(status == _STATED)["language"].unique().to_list()
    return rejected.select(
        "source_file",
        pl.when(pl.col("order_line") != 0).then(pl.col("order_line")).alias("line"),
        pl.lit(STAGE).alias("stage"),
        pl.when(status == _EMPTY)
        .then(pl.col("code"))
        .when(status == _BOILERPLATE)
        .then(pl.lit("only_boilerplate"))
        .when(status == _DUPLICATE)
        .then(pl.lit("duplicate_text"))
        .otherwise(pl.lit("non_english"))
        .alias("reason_code"),
        pl.when(status == _EMPTY)
        .then(
            pl.when(pl.col("code") == "empty_file").then(pl.lit("file")).otherwise(pl.lit("text"))
            + pl.lit(" is empty or whitespace only")
        )
        .when(status == _BOILERPLATE)
        .then(pl.lit("nothing is left after removing boilerplate"))
        # the language as Python's repr writes it, as a message made from a single text would
        .when(status == _STATED)
        .then(
            pl.lit("language stated as ")
            + pl.col("language").replace_strict({v: repr(v) for v in stated}, default=None)
            + pl.lit("; the extractor reads English")
        )
        .when(status == _GUESSED)
        .then(pl.lit(_NOT_ENGLISH))
        .otherwise(pl.lit("same text as ") + pl.col("duplicate_of"))
        .alias("reason"),
        pl.when(status.is_in([_STATED, _GUESSED, _DUPLICATE])).then(_ARTICLE_ID).alias("record_id"),
        pl.when(status == _DUPLICATE).then(pl.col("duplicate_of")).alias("duplicate_of"),
        pl.when(status == _BOILERPLATE)
        .then(pl.col("head"))
        .when(status == _GUESSED)
        .then(pl.col("guess"))
        .alias("detail"),
    )


def _infer_dates(
    texts: list[str], publication_hints: PublicationHints | None, workers: int = 1
) -> list[tuple[dt.date | None, str, dt.date | None]]:
    """Publication dates inferred from these texts: (published_at, basis, published_after) each."""
    # Year and weekday tokens for publication-date inference, found for these texts in one
    # Rust regex pass (Python's re needs ~4 s for the same on the 33k corpus).
    series = pl.Series(texts, dtype=pl.String)
    year_col = series.str.extract_all(YEAR_TOKEN_PATTERN).to_list()
    weekday_col = series.str.contains(WEEKDAY_TOKEN_PATTERN).to_list()
    del series
    return infer_dates(texts, year_col, weekday_col, publication_hints, workers)


def _source_order() -> list[pl.Expr]:
    """Output order of a row with ``source_file`` and ``line``: by path (a bundle line's path is
    its bundle's), then line number (so "#L2" sorts before "#L10")."""
    line = pl.col("line")
    base = (
        pl.when(line.is_not_null() & pl.col("source_file").str.contains("#L", literal=True))
        .then(pl.col("source_file").str.splitn("#L", 2).struct.field("field_0"))
        .otherwise(pl.col("source_file"))
    )
    return [base, line.fill_null(0)]
