"""Incremental ingest: an input file or bundle that has not changed since the last build is not read again.

Design (entry-level cache). Each discovered input (a file or a bundle; sources.csv itself is
always read, it is small and decides the metadata of files) is keyed by its identity and content:
path relative to the raw folder, kind, size, sha256 of the bytes ingest reads (the whole file for a
bundle, ~0.1 s for the 30 MB corpus bundle; the first ``max_file_bytes + 1`` bytes for a file) and,
for a single file, the metadata its sources.csv row gives it. For each key the cache holds what
reading that input contributed: its quarantine rows, its metadata issues, and its candidate texts
already normalized (with their metadata). Everything that depends on more than one input is
recomputed from those rows on every build, exactly as without the cache: duplicate_text (decided
across all inputs in source order, first wins), the record_id of bad_metadata rows, sorting. So
adding, changing or deleting one input gives the same output as an uncached ingest.

What ingest derives from a normalized text alone (language guess, title/dateline/date marker,
inferred publication date: most of the cold time) is cached by the text's sha256 ("analysis"
rows), filled lazily: a duplicate is never analysed, and becomes analysed when it is kept later.

Files, all Parquet, under ``<cache_dir>/ingest/<fingerprint>/``: one ``entry-<hash of key>``
file per bundle (written once; a new small file next to a 30 MB bundle does not rewrite it),
``files.parquet`` for all single files, ``analyses.parquet`` (+ a small ``analyses-delta.parquet``
of recent additions) for the texts. Each file is valid on
its own (its rows are a function of their keys), so no two files need to agree. The
fingerprint covers all that shapes the output besides the inputs: the ingest sources
(pipeline/ingest/*.py), the date inference (pipeline/extract/dates.py), the boilerplate YAML, the
limits, and the publication hints (their source and the dictionaries fingerprint). Writes follow
pipeline/extract/cache.py: under a FileLock, to a temporary name carrying the pid, then renamed;
dead temporaries are removed. The cache holds only the inputs and texts of the current build
(bounded by the raw folder); files of inputs that are gone and of other fingerprints are deleted
on write. A cache file that cannot be read or does not have the expected columns is ignored (and
rewritten); a cache that cannot be written is skipped: the cache never fails a build.

Why not per-text keys only: the bundle would still be read and decompressed (~2 s on the corpus).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from filelock import FileLock, Timeout

from pipeline.ingest.metadata import Metadata, MetadataIssue

log = logging.getLogger(__name__)

CACHE_VERSION = "1"  # bump when the file layout changes
CACHE_LOCK_TIMEOUT_S = 3600  # as pipeline/extract/cache.py: a concurrent build may hold it that long
SUBDIR = "ingest"  # not the cache folder itself: the extraction cache deletes other *.parquet there
SMALL_FILE = "files.parquet"  # the entries of all single files
ANALYSES_FILE = "analyses.parquet"  # sha256 of a text -> what was derived from it
# Analyses added since analyses.parquet was written (a few new texts do not rewrite 33k rows);
# merged into it when it grows past DELTA_MAX or when texts are gone.
DELTA_FILE = "analyses-delta.parquet"
DELTA_MAX = 2000
_HASH_CHUNK = 1 << 20

_SCHEMA = {
    "key": pl.String,  # entry key, or the sha256 of a text for an analysis row
    "rec": pl.String,  # q: quarantine row | i: metadata issue | c: candidate text | a: analysis
    "source_file": pl.String, "line": pl.Int64,
    "code": pl.String, "reason": pl.String, "detail": pl.String,
    "record_id": pl.String, "duplicate_of": pl.String, "applies_to": pl.String,
    "order_path": pl.String, "order_line": pl.Int64, "text": pl.String, "head": pl.String, "digest": pl.String,
    "title": pl.String, "outlet": pl.String, "url": pl.String, "published_at": pl.Date, "language": pl.String,
    "english": pl.Boolean, "guess": pl.String,
    "has_structure": pl.Boolean, "s_title": pl.String, "s_dateline": pl.String, "s_marker": pl.Date,
    "has_publication": pl.Boolean, "p_published_at": pl.Date, "p_basis": pl.String, "p_after": pl.Date,
}

_REQUIRED = {  # record type -> columns that may not be null
    "e": ["key"], "q": ["key", "source_file", "code", "reason"], "i": ["key", "source_file", "reason"],
    "c": ["key", "order_path", "order_line", "source_file", "text", "code"], "a": ["key"],
}


@dataclass
class EntryRecord:
    """What reading one input contributed (before the cross-input steps)."""
    quarantine: list[dict] = field(default_factory=list)
    issues: list[MetadataIssue] = field(default_factory=list)
    candidates: list = field(default_factory=list)  # core._Candidate, prepared (normalized) once _finish ran


@dataclass(frozen=True)
class CacheStats:
    reused: int  # inputs taken from the cache
    read: int  # inputs read (new, changed, or not cacheable)
    written: bool  # the cache file was rewritten


def fingerprint(limits, publication_hints) -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(f"ingest-cache {CACHE_VERSION}\n{limits!r}\n".encode())
    from pipeline.extract import dates
    from pipeline.ingest.normalize import BOILERPLATE_FILE

    for f in [*sorted(here.glob("*.py")), Path(dates.__file__), Path(BOILERPLATE_FILE)]:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    if publication_hints is None:
        h.update(b"no publication hints")
    else:
        from pipeline.extract.extractor import dictionaries_fingerprint

        h.update(f"{getattr(publication_hints, '__module__', '')}.{getattr(publication_hints, '__qualname__', '')}".encode())
        h.update(dictionaries_fingerprint().encode())
        try:
            h.update(Path(inspect.getsourcefile(publication_hints)).read_bytes())
            h.update(inspect.getsource(publication_hints).encode())
        except (TypeError, OSError):
            h.update(repr(publication_hints).encode())
    return h.hexdigest()


def _file_digest(path: Path, max_bytes: int | None) -> str:
    h = hashlib.sha256()
    left = max_bytes
    with open(path, "rb") as f:
        while left is None or left > 0:
            chunk = f.read(_HASH_CHUNK if left is None else min(_HASH_CHUNK, left))
            if not chunk:
                break
            h.update(chunk)
            if left is not None:
                left -= len(chunk)
    return h.hexdigest()


def _stat_id(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


class IngestCache:
    """Used by pipeline.ingest.core.ingest_raw for one build, under the cache lock (see ``session``)."""

    def __init__(self, root: Path, fp: str, max_file_bytes: int):
        self.root = root
        self.directory = root / fp[:20]
        self.max_file_bytes = max_file_bytes
        self.loaded: dict[str, EntryRecord] = {}
        self.analyses: dict = {}  # sha256 -> core.Analysis, as loaded
        self.used: dict[str, EntryRecord] = {}  # entries of this build, to write
        self.fresh: set[str] = set()  # entries read (not reused) in this build
        self.reused = 0
        self._stat_before: dict[str, tuple[int, int, int]] = {}  # key -> (size, mtime_ns, inode) when hashed
        self._loaded_small: set[str] = set()
        self._known_parts: dict[str, int] = {}  # sha256 -> parts of its analysis known when loaded
        self._base_loaded = False
        self._delta_digests: set[str] = set()

    # -- reading -------------------------------------------------------------------------------
    def load(self) -> None:
        """Load every cache file of this fingerprint; a damaged one is ignored (and rewritten)."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.parquet"), key=lambda p: (p.name == DELTA_FILE, p.name)):
            try:
                entries, analyses = self._load(path)
            except Exception as exc:  # noqa: BLE001  (any damage: ignore that file)
                log.warning("ingest cache file %s unreadable, ignored: %s", path, exc)
                continue
            if path.name == SMALL_FILE:
                self._loaded_small = set(entries)
            elif path.name == ANALYSES_FILE:
                self._base_loaded = True
            elif path.name == DELTA_FILE:
                self._delta_digests = set(analyses)
            elif len(entries) != 1 or _own_file(next(iter(entries))) != path.name:
                log.warning("ingest cache file %s does not hold the entry it is named for, ignored", path)
                continue
            self.loaded.update(entries)
            self.analyses.update(analyses)
        self._known_parts = {d: _parts(a) for d, a in self.analyses.items()}

    @staticmethod
    def _load(path: Path) -> tuple[dict[str, EntryRecord], dict]:
        from pipeline.ingest.core import Analysis, StoredText, _Candidate  # core imports this module lazily

        df = pl.read_parquet(path)
        if dict(df.schema) != _SCHEMA:
            raise ValueError(f"unexpected columns {list(df.schema)}")
        for rec, required in _REQUIRED.items():  # what the code relies on is there (a damaged file is ignored)
            # select before filter: filtering first would copy every column, the texts included
            part = df.select("rec", *required).filter(pl.col("rec") == rec).drop("rec")
            if sum(part.null_count().row(0)):
                raise ValueError(f"{rec!r} rows with missing values")
        if not df["rec"].is_in(list(_REQUIRED)).all():
            raise ValueError("unknown record type")

        def rows(rec: str, *names: str):
            part = df.select("rec", *names).filter(pl.col("rec") == rec)  # copies only these columns
            return zip(*(part[name].to_list() for name in names))

        loaded: dict[str, EntryRecord] = {key: EntryRecord() for (key,) in rows("e", "key")}
        for key, source_file, line, code, reason, detail, record_id, duplicate_of in rows(
                "q", "key", "source_file", "line", "code", "reason", "detail", "record_id", "duplicate_of"):
            loaded[key].quarantine.append({
                "source_file": source_file, "line": line, "stage": "ingest", "reason_code": code, "reason": reason,
                "record_id": record_id, "duplicate_of": duplicate_of, "detail": detail,
            })
        for key, source_file, line, reason, detail, applies_to in rows(
                "i", "key", "source_file", "line", "reason", "detail", "applies_to"):
            loaded[key].issues.append(MetadataIssue(source_file, line, reason, detail, applies_to))
        texts = df.select("rec", "text").filter(pl.col("rec") == "c")["text"]  # kept in polars (see core.StoredText)
        if texts.null_count():
            raise ValueError("a candidate without its text")
        n_chars = texts.str.len_chars().to_list()
        for i, (key, order_path, order_line, source_file, head, digest, code, title, outlet, url, published_at,
                language) in enumerate(rows("c", "key", "order_path", "order_line", "source_file", "head", "digest",
                                            "code", "title", "outlet", "url", "published_at", "language")):
            loaded[key].candidates.append(_Candidate(
                (order_path, order_line), source_file, StoredText(texts, i, n_chars[i]),
                Metadata(title, outlet, url, published_at, language), code, prepared=True, head=head, digest=digest))
        analyses: dict = {}
        for digest, english, guess, has_structure, s_title, s_dateline, s_marker, has_pub, p_at, p_basis, p_after in rows(
                "a", "key", "english", "guess", "has_structure", "s_title", "s_dateline", "s_marker",
                "has_publication", "p_published_at", "p_basis", "p_after"):
            analyses[digest] = Analysis(
                english=english, guess=guess,
                structure=(s_title, s_dateline, s_marker) if has_structure else None,
                publication=(p_at, p_basis, p_after) if has_pub else None,
            )
        return loaded, analyses

    # -- per input ---------------------------------------------------------------------------
    def key(self, entry, meta: Metadata | None) -> str | None:
        """The input's cache key, or None when it cannot be identified (it is then read uncached)."""
        try:
            before = _stat_id(entry.path)
            digest = _file_digest(entry.path, None if entry.kind == "bundle" else self.max_file_bytes + 1)
        except OSError:
            return None
        key = "\0".join([entry.source_file, entry.kind, str(entry.size), digest, repr(meta)])
        self._stat_before[key] = before
        return key

    def replay(self, key: str, run) -> bool:
        """Add a cached input's rows to ``run`` (as reading it would); False when not cached."""
        record = self.loaded.get(key)
        if record is None:
            return False
        run.quarantine.extend(dict(q) for q in record.quarantine)
        run.issues.extend(record.issues)
        run.candidates.extend(record.candidates)  # prepared already; _finish does not change them
        self.used[key] = record
        self.reused += 1
        return True

    def mark(self, run) -> tuple[int, int, int]:
        return len(run.quarantine), len(run.issues), len(run.candidates)

    def record(self, key: str, entry, run, marks: tuple[int, int, int]) -> None:
        """Remember what reading an input added to ``run`` (candidates are prepared later, in place)."""
        before = self._stat_before.pop(key)
        try:
            if _stat_id(entry.path) != before:
                return  # changed while being read: do not cache what may be a mix
        except OSError:
            return
        q, i, c = marks
        self.used[key] = EntryRecord(list(run.quarantine[q:]), list(run.issues[i:]), list(run.candidates[c:]))
        self.fresh.add(key)

    # -- writing -------------------------------------------------------------------------------
    def save(self, analyses: dict) -> bool:
        """Write what changed: new bundles' files, the small-entries file, the analyses; remove the
        files of inputs that are gone and of other fingerprints. True when anything was written."""
        wrote = False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for other in self.root.iterdir():
                if other.is_dir() and other != self.directory and not other.name.startswith("."):
                    shutil.rmtree(other, ignore_errors=True)  # another fingerprint's cache
            own = {_own_file(k): k for k in self.used if _has_own_file(k)}
            for old in self.directory.glob("entry-*.parquet"):
                if old.name not in own:
                    old.unlink(missing_ok=True)  # an input that is gone or changed
            for name, key in own.items():
                if key in self.fresh or not (self.directory / name).is_file():
                    self._write(self._frame({key: self.used[key]}, {}), name)
                    wrote = True
            small = {k: r for k, r in self.used.items() if not _has_own_file(k)}
            if set(small) != self._loaded_small or self.fresh.intersection(small):
                if small:
                    self._write(self._frame(small, {}), SMALL_FILE)
                else:
                    (self.directory / SMALL_FILE).unlink(missing_ok=True)
                wrote = True
            changed = {d for d, a in analyses.items() if _parts(a) != self._known_parts.get(d)}
            gone = self._known_parts.keys() - analyses.keys()
            if changed or gone:
                delta = (self._delta_digests | changed) & analyses.keys()
                if gone or not self._base_loaded or len(delta) > DELTA_MAX:
                    self._write(self._frame({}, analyses), ANALYSES_FILE)
                    (self.directory / DELTA_FILE).unlink(missing_ok=True)
                else:
                    self._write(self._frame({}, {d: analyses[d] for d in delta}), DELTA_FILE)
                wrote = True
        except Exception as exc:  # noqa: BLE001  (a cache that cannot be written costs time, never the build)
            log.warning("ingest cache %s not (fully) written: %s", self.directory, exc)
        return wrote

    def _write(self, frame: pl.DataFrame, name: str) -> None:
        path = self.directory / name
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        try:
            frame.write_parquet(tmp, compression="zstd", compression_level=1)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _frame(entries: dict[str, EntryRecord], analyses: dict) -> pl.DataFrame:
        parts: list[pl.DataFrame] = []

        def part(rec: str, columns: dict[str, list]) -> None:
            n = len(next(iter(columns.values())))
            if n:
                columns["rec"] = [rec] * n
                parts.append(pl.DataFrame({name: pl.Series(name, columns[name], dtype) if name in columns
                                           else pl.repeat(None, n, dtype=dtype, eager=True).alias(name)
                                           for name, dtype in _SCHEMA.items()}))

        part("e", {"key": list(entries)})  # an input that contributed nothing is still known
        qs = [(key, q) for key, r in entries.items() for q in r.quarantine]
        part("q", {"key": [k for k, _ in qs], **{col: [q[name] for _, q in qs] for col, name in (
            ("source_file", "source_file"), ("line", "line"), ("code", "reason_code"), ("reason", "reason"),
            ("detail", "detail"), ("record_id", "record_id"), ("duplicate_of", "duplicate_of"))}})
        issues = [(key, i) for key, r in entries.items() for i in r.issues]
        part("i", {"key": [k for k, _ in issues], **{col: [getattr(i, name) for _, i in issues] for col, name in (
            ("source_file", "source_file"), ("line", "line"), ("reason", "message"), ("detail", "detail"),
            ("applies_to", "applies_to"))}})
        cands = [(key, (c.order, c.source_file, c.text, c.head, c.digest, c.meta, c.empty_code))
                 for key, r in entries.items() for c in r.candidates]  # all prepared by now (by _finish)
        part("c", {
            "key": [k for k, _ in cands], "order_path": [c[0][0] for _, c in cands], "order_line": [c[0][1] for _, c in cands],
            "source_file": [c[1] for _, c in cands], "text": [str(c[2]) for _, c in cands], "head": [c[3] for _, c in cands],
            "digest": [c[4] for _, c in cands], "code": [c[6] for _, c in cands],
            **{name: [getattr(c[5], name) for _, c in cands] for name in ("title", "outlet", "url", "published_at", "language")},
        })
        items = list(analyses.items())
        structures = [a.structure or (None, None, None) for _, a in items]
        publications = [a.publication or (None, None, None) for _, a in items]
        part("a", {
            "key": [d for d, _ in items], "english": [a.english for _, a in items], "guess": [a.guess for _, a in items],
            "has_structure": [a.structure is not None for _, a in items],
            **{col: [s[j] for s in structures] for j, col in enumerate(("s_title", "s_dateline", "s_marker"))},
            "has_publication": [a.publication is not None for _, a in items],
            **{col: [p[j] for p in publications] for j, col in enumerate(("p_published_at", "p_basis", "p_after"))},
        })
        return pl.concat(parts, rechunk=False) if parts else pl.DataFrame(schema=_SCHEMA)


def _has_own_file(key: str) -> bool:
    """Bundles get a file each (written once, never rewritten while unchanged); files share one."""
    return key.split("\0", 2)[1] == "bundle"


def _own_file(key: str) -> str:
    return f"entry-{hashlib.sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()[:32]}.parquet"


def _parts(a) -> int:
    """How much is known about a text (grows when a part is computed)."""
    return (a.english is not None) + (a.structure is not None) + (a.publication is not None)


class session:
    """``with session(cache_dir, limits, hints) as cache:`` the cache for one build, locked and
    loaded; ``cache`` is None when the cache folder cannot be used (the build then runs uncached)."""

    def __init__(self, cache_dir: Path, limits, publication_hints):
        self.directory = Path(cache_dir) / SUBDIR
        self.limits = limits
        self.hints = publication_hints
        self.lock: FileLock | None = None

    def __enter__(self) -> IngestCache | None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.lock = FileLock(str(self.directory / ".lock"), timeout=CACHE_LOCK_TIMEOUT_S)
            self.lock.acquire()
        except (OSError, Timeout) as exc:
            log.warning("ingest cache %s not used: %s", self.directory, exc)
            self.lock = None
            return None
        cache = IngestCache(self.directory, fingerprint(self.limits, self.hints), self.limits.max_file_bytes)
        _remove_dead_temporaries(cache.directory)
        cache.load()
        return cache

    def __exit__(self, *exc) -> None:
        if self.lock is not None:
            self.lock.release()


def _remove_dead_temporaries(directory: Path) -> None:
    from pipeline.extract.cache import _pid_alive

    for tmp in directory.glob(".*.tmp"):
        pid = tmp.name.rsplit(".", 2)[-2]
        if not pid.isdigit() or not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
