"""Metadata as stated by the input: raw/sources.csv for files, fields of bundle lines, HTML meta tags.

``collected_at`` (sources.csv, for a file or a whole bundle; or a bundle line's own field) is when
the input was collected (crawled): no publication date and no asserted event date may pass it.

Every field may be missing. A value that is present but unusable (a date that is not a date, a
path that leaves the raw folder, a row for a file that does not exist) becomes a MetadataIssue,
reported as a quarantine row "bad_metadata"; the article itself is still ingested without it.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import io
import posixpath
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipeline.ingest.language import normalize_language_code

SOURCES_FILE = "sources.csv"
FIELDS = ("title", "outlet", "url", "published_at", "language", "collected_at")
DATE_FIELDS = ("published_at", "collected_at")
_ISO_DATE = re.compile(r"\A(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.,+\-Z ]{0,40})?\Z")
MIN_YEAR = 1900  # an earlier "publication date" is a data error, not a news article
MAX_YEAR = 2100


@dataclass
class Metadata:
    title: str | None = None
    outlet: str | None = None
    url: str | None = None
    published_at: dt.date | None = None
    language: str | None = None
    collected_at: dt.date | None = None


@dataclass(frozen=True)
class MetadataIssue:
    source_file: str  # where the bad value is written (sources.csv or the bundle)
    line: int | None
    message: str
    detail: str | None = None
    applies_to: str | None = None  # source_file of the article concerned, when known
    code: str = "bad_metadata"  # the quarantine row's reason_code (encoding_repaired for a repaired text)


def parse_date(value: str) -> dt.date:
    """ISO 8601 date or date-time ('2023-12-29', '2023-12-29T10:00:00Z') or RFC 2822; ValueError else."""
    v = value.strip()
    m = _ISO_DATE.match(v)
    if m:
        d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    else:
        try:
            d = email.utils.parsedate_to_datetime(v).date()
        except (TypeError, ValueError, IndexError, OverflowError) as exc:
            raise ValueError(f"not an ISO 8601 or RFC 2822 date: {v!r}") from exc
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise ValueError(f"year {d.year} outside {MIN_YEAR}-{MAX_YEAR}: {v!r}")
    return d


def metadata_from_fields(
    values: dict, where: str, line: int | None, applies_to: str | None, issues: list[MetadataIssue]
) -> Metadata:
    """Build Metadata from stated fields; unusable values are reported in ``issues`` and dropped."""
    meta = Metadata()
    if values.keys().isdisjoint(FIELDS):
        return meta
    for name in FIELDS:
        raw = values.get(name)
        if raw is None:
            continue
        if not isinstance(raw, str):
            issues.append(
                MetadataIssue(
                    where, line, f"field {name!r} is not a string; ignored", f"{name}={raw!r}"[:300], applies_to
                )
            )
            continue
        value = raw.strip()
        if not value:
            continue
        if name in DATE_FIELDS:
            try:
                setattr(meta, name, parse_date(value))
            except ValueError as exc:
                issues.append(
                    MetadataIssue(
                        where,
                        line,
                        f"bad {name} date; the article is kept without it ({exc})",
                        f"{name}={value!r}"[:300],
                        applies_to,
                    )
                )
        elif name == "language":
            code = normalize_language_code(value)
            if code is None:
                issues.append(
                    MetadataIssue(
                        where,
                        line,
                        "language is not an ISO 639-1 code; detected from the text instead",
                        f"language={value!r}"[:300],
                        applies_to,
                    )
                )
            meta.language = code
        else:
            setattr(meta, name, unicodedata.normalize("NFC", value))
    return meta


@dataclass
class SourcesTable:
    by_file: dict[str, tuple[int, Metadata]] = field(default_factory=dict)  # source_file -> (csv line, metadata)
    issues: list[MetadataIssue] = field(default_factory=list)


def _safe_relative(raw_root: Path, value: str) -> tuple[str, str | None] | None:
    """(the path as a raw-relative POSIX string, the target when it runs through a symlink inside
    the raw folder), or None when it leaves the raw folder."""
    v = value.strip().replace("\\", "/")
    p = PurePosixPath(v)
    if p.is_absolute() or re.match(r"\A[A-Za-z]:", v):
        return None
    parts = [part for part in p.parts if part not in ("", ".")]
    depth = 0
    for part in parts:
        depth += -1 if part == ".." else 1
        if depth < 0:
            return None
    resolved = (raw_root / Path(*parts)).resolve() if parts else raw_root
    try:
        target = resolved.relative_to(raw_root).as_posix()
    except ValueError:  # a symlink inside leads out
        return None
    lexical = PurePosixPath(posixpath.normpath("/".join(parts))).as_posix() if parts else "."
    linked = any((raw_root / Path(*lexical.split("/")[: i + 1])).is_symlink() for i in range(len(lexical.split("/"))))
    return (lexical, target) if linked else (target, None)


def _header(header: list[str], table: SourcesTable) -> dict[str, int]:
    """Column name -> index of its first occurrence; a name given twice is reported (the first is used)."""
    columns: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        columns.setdefault(name.strip().lower(), []).append(i)
    for name, where in columns.items():
        if len(where) > 1 and name:
            times = "twice" if len(where) == 2 else f"{len(where)} times"
            table.issues.append(
                MetadataIssue(
                    SOURCES_FILE,
                    1,
                    f"column {name!r} appears {times} in the header (columns "
                    f"{', '.join(str(i + 1) for i in where)}); the first is used, the others ignored",
                    f"header={header!r}"[:300],
                )
            )
    return {name: where[0] for name, where in columns.items() if name}


def read_sources_csv(text: str, raw_root: Path, existing: set[str]) -> SourcesTable:
    """Parse sources.csv (columns file, title, outlet, url, published_at, language, collected_at; any
    but file may be missing; a bundle's row may give only collected_at).

    ``existing`` holds the source_file of every discovered input, to report rows for missing files.
    A column named twice is reported and its first occurrence used; a row that names a symlink
    is reported and ignored (the metadata belongs to the file the link points to: name that).
    """
    table = SourcesTable()
    existing_nfc = {unicodedata.normalize("NFC", s): s for s in existing}
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None) or []
    except csv.Error as exc:
        table.issues.append(MetadataIssue(SOURCES_FILE, 1, "sources.csv header is not valid CSV; ignored", str(exc)))
        return table
    columns = _header(header, table)
    if "file" not in columns:
        table.issues.append(
            MetadataIssue(SOURCES_FILE, None, "sources.csv has no 'file' column; ignored", f"header={header!r}"[:300])
        )
        return table
    try:
        for cells in reader:
            line = reader.line_num
            # More cells than header columns: the extra ones are ignored (as before).
            row = {name: cells[i] for name, i in columns.items() if i < len(cells)}
            name = (row.get("file") or "").strip()
            if not name:
                if any((v or "").strip() for v in row.values()):
                    table.issues.append(MetadataIssue(SOURCES_FILE, line, "row without a file name; ignored", None))
                continue
            found = _safe_relative(raw_root, name)
            if found is None:
                table.issues.append(
                    MetadataIssue(
                        SOURCES_FILE,
                        line,
                        "path leaves the raw folder; row ignored, file not read",
                        f"file={name!r}"[:300],
                    )
                )
                continue
            rel, through_link = found
            if through_link is not None:
                table.issues.append(
                    MetadataIssue(
                        SOURCES_FILE,
                        line,
                        "row names a symlink; row ignored (its metadata belongs to the file the link "
                        "points to: name that file in sources.csv)",
                        f"file={name!r}; the link points to {through_link!r}"[:300],
                    )
                )
                continue
            rel = existing_nfc.get(unicodedata.normalize("NFC", rel), rel)
            if rel not in existing:
                table.issues.append(
                    MetadataIssue(
                        SOURCES_FILE,
                        line,
                        "row refers to a file that does not exist in the raw folder",
                        f"file={name!r}"[:300],
                    )
                )
                continue
            if rel in table.by_file:
                table.issues.append(
                    MetadataIssue(
                        SOURCES_FILE,
                        line,
                        f"second row for the same file (first on line {table.by_file[rel][0]}); ignored",
                        f"file={name!r}"[:300],
                        rel,
                    )
                )
                continue
            meta = metadata_from_fields(row, SOURCES_FILE, line, rel, table.issues)
            table.by_file[rel] = (line, meta)
    except csv.Error as exc:
        table.issues.append(
            MetadataIssue(
                SOURCES_FILE,
                reader.line_num or None,
                "sources.csv is not valid CSV from here on; later rows ignored",
                str(exc)[:300],
            )
        )
    return table
