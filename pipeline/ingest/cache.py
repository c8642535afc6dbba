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

The candidate texts and the analyses stay polars frames from the cache file to the output
(core._finish works on columns); only the few quarantine rows and issues become Python objects,
so a warm build does no per-text Python work for the cached inputs.

What ingest derives from a normalized text alone (language guess, title/dateline/date marker,
inferred publication date: most of the cold time) is cached by the text's sha256 ("analysis"
rows), filled lazily: a duplicate is never analysed, and becomes analysed when it is kept later.

Files, all Parquet (lz4: read about twice as fast as zstd, and read on every build), under
``<cache_root>/ingest/<fingerprint>/`` (pipeline.cache): one ``entry-<hash of key>`` file per bundle (written once;
a new small file next to a 30 MB bundle does not rewrite it), ``files.parquet`` for all single
files, ``analyses.parquet`` (+ a small ``analyses-delta.parquet`` of recent additions) for the
texts. Each file is valid on its own (its rows are a function of their keys), so no two files need
to agree. The fingerprint covers all that shapes the output besides the inputs: the ingest sources
(pipeline/ingest/), the shared text layer (date inference, the gazetteer behind the publication
hints), schemas/ (the boilerplate and other dictionaries), the limits and which hints function.
Writes are atomic (pipeline.storage), under the stage's lock; dead temporaries are removed. The
cache holds only the inputs and texts of the current build (bounded by the raw folder; plus at
most DELTA_MAX analyses of texts gone since analyses.parquet was written); files of inputs that
are gone and of other fingerprints are deleted on write. A cache file that cannot be read or does
not have the expected columns is ignored (and rewritten); a cache that cannot be written is
skipped: the cache never fails a build.

Why not per-text keys only: the bundle would still be read and decompressed (~2 s on the corpus).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from filelock import Timeout

from pipeline.cache import SCHEMAS_DIR, TEXT_DIR, StageCache, source_fingerprint
from pipeline.ingest.metadata import Metadata, MetadataIssue
from pipeline.storage import write_parquet_atomic

log = logging.getLogger(__name__)

# bump when the file layout changes (2: candidates and analyses kept as frames, n_chars stored;
# 3: an issue's reason code is stored; 4: candidates carry collected_at, publication inference
# reads only past dates)
CACHE_VERSION = "4"
SUBDIR = "ingest"  # the stage's folder under the cache root
SMALL_FILE = "files.parquet"  # the entries of all single files
ANALYSES_FILE = "analyses.parquet"  # sha256 of a text -> what was derived from it
# Analyses added since analyses.parquet was written (a few new texts do not rewrite 33k rows);
# merged into it when it grows past DELTA_MAX (or the analyses of texts gone do, see _save_analyses).
DELTA_FILE = "analyses-delta.parquet"
DELTA_MAX = 2000
_HASH_CHUNK = 1 << 20

# The candidate texts of the inputs, as pipeline/ingest/core.py works on them (one row per text
# an input yielded, normalized; cached inputs' rows go from the cache file to the output without
# becoming Python objects). ``key`` is the entry key of the input (null when not cacheable).
CANDIDATES = {
    "key": pl.String,
    "order_path": pl.String,
    "order_line": pl.Int64,
    "source_file": pl.String,
    "text": pl.String,  # normalized, boilerplate removed
    "n_chars": pl.Int64,  # characters of text
    "head": pl.String,  # start of the text before boilerplate removal; null when it had no content
    "digest": pl.String,  # sha256 of text; null when text is empty
    "code": pl.String,  # reason code when nothing is left: empty_file (a file) or empty_text (a bundle line)
    "title": pl.String,
    "outlet": pl.String,
    "url": pl.String,
    "published_at": pl.Date,
    "language": pl.String,
    "collected_at": pl.Date,
}
# What ingest derives from a normalized text alone, by its sha256 (``key``). Filled lazily: a part
# is computed only when an article needs it; english null / has_* false = not computed yet.
ANALYSES = {
    "key": pl.String,
    "english": pl.Boolean,
    "guess": pl.String,  # guess: LanguageGuess.describe() when not English
    "has_structure": pl.Boolean,
    "s_title": pl.String,
    "s_dateline": pl.String,
    "s_marker": pl.Date,
    "has_publication": pl.Boolean,
    "p_published_at": pl.Date,
    "p_basis": pl.String,
    "p_after": pl.Date,
}

_SCHEMA = {
    **CANDIDATES,  # key: entry key, or the sha256 of a text for an analysis row
    "rec": pl.String,  # e: entry | q: quarantine row | i: metadata issue | c: candidate text | a: analysis
    "line": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "record_id": pl.String,
    "duplicate_of": pl.String,
    "applies_to": pl.String,
    **ANALYSES,
}

_REQUIRED = {  # record type -> columns that may not be null
    "e": ["key"],
    "q": ["key", "source_file", "code", "reason"],
    "i": ["key", "source_file", "reason", "code"],
    "c": ["key", "order_path", "order_line", "source_file", "text", "n_chars", "code"],
    "a": ["key"],
}


def empty_candidates() -> pl.DataFrame:
    return pl.DataFrame(schema=CANDIDATES)


def empty_analyses() -> pl.DataFrame:
    return pl.DataFrame(schema=ANALYSES)


@dataclass
class EntryRecord:
    """What reading one input contributed (before the cross-input steps), besides its candidate
    texts (rows of the candidates frames with this entry's key)."""

    quarantine: list[dict] = field(default_factory=list)
    issues: list[MetadataIssue] = field(default_factory=list)


@dataclass(frozen=True)
class CacheStats:
    reused: int  # inputs taken from the cache
    read: int  # inputs read (new, changed, or not cacheable)
    written: bool  # the cache file was rewritten


def fingerprint(limits, publication_hints) -> str:
    """The ingest sources, the shared text layer (date inference, the dictionaries behind the
    hints), schemas/ (boilerplate and other dictionaries), the limits and which hints function."""
    if publication_hints is None:
        hints = "no publication hints"
    else:
        hints = f"{getattr(publication_hints, '__module__', '')}.{getattr(publication_hints, '__qualname__', '')}"
        try:  # a function defined elsewhere (a test's lambda) is covered by its own source
            hints += "\n" + inspect.getsource(publication_hints)
        except (TypeError, OSError):
            hints += "\n" + repr(publication_hints)
    return source_fingerprint(
        Path(__file__).resolve().parent,
        TEXT_DIR,
        SCHEMAS_DIR,
        salt=f"ingest-cache {CACHE_VERSION}\n{limits!r}\n{hints}\n",
    )


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


def parts() -> pl.Expr:
    """How much is known about a text (grows when a part is computed)."""
    return (
        pl.col("english").is_not_null().cast(pl.Int8)
        + pl.col("has_structure").fill_null(False).cast(pl.Int8)
        + pl.col("has_publication").fill_null(False).cast(pl.Int8)
    ).alias("parts")


class IngestCache:
    """Used by pipeline.ingest.core.ingest_raw for one build, under the cache lock (see ``session``)."""

    def __init__(self, stage: StageCache, max_file_bytes: int):
        self.stage = stage
        self.directory = stage.dir
        self.max_file_bytes = max_file_bytes
        self.loaded: dict[str, EntryRecord] = {}
        self._candidates: list[pl.DataFrame] = []  # CANDIDATES rows of the loaded entries, one frame per file
        self.analyses = empty_analyses()  # as loaded (one row per sha256)
        self.used: dict[str, EntryRecord] = {}  # entries of this build, to write
        self.fresh: set[str] = set()  # entries read (not reused) in this build
        self.reused = 0
        self._stat_before: dict[str, tuple[int, int, int]] = {}  # key -> (size, mtime_ns, inode) when hashed
        self._loaded_small: set[str] = set()
        self._base_loaded = False
        self._delta_digests: set[str] = set()

    # -- reading -------------------------------------------------------------------------------
    def load(self) -> None:
        """Load every cache file of this fingerprint; a damaged one is ignored (and rewritten)."""
        if not self.directory.is_dir():
            return
        analyses: list[pl.DataFrame] = []
        for path in sorted(self.directory.glob("*.parquet"), key=lambda p: (p.name == DELTA_FILE, p.name)):
            try:
                entries, candidates, found = self._load(path)
            except Exception as exc:  # noqa: BLE001  (any damage: ignore that file)
                log.warning("ingest cache file %s unreadable, ignored: %s", path, exc)
                continue
            if path.name == SMALL_FILE:
                self._loaded_small = set(entries)
            elif path.name == ANALYSES_FILE:
                self._base_loaded = True
            elif path.name == DELTA_FILE:
                self._delta_digests = set(found["key"].to_list())
            elif len(entries) != 1 or _own_file(next(iter(entries))) != path.name:
                log.warning("ingest cache file %s does not hold the entry it is named for, ignored", path)
                continue
            self.loaded.update(entries)
            if candidates.height:
                self._candidates.append(candidates)
            if found.height:
                analyses.append(found)
        if analyses:  # the delta comes last and wins
            self.analyses = pl.concat(analyses).unique("key", keep="last", maintain_order=True)

    @staticmethod
    def _load(path: Path) -> tuple[dict[str, EntryRecord], pl.DataFrame, pl.DataFrame]:
        """(entries with their quarantine rows and issues, their CANDIDATES rows, ANALYSES rows)."""
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
        # Few rows (inputs and bundle lines that are not texts): Python objects, as a fresh read makes them.
        for key, source_file, line, code, reason, detail, record_id, duplicate_of in rows(
            "q", "key", "source_file", "line", "code", "reason", "detail", "record_id", "duplicate_of"
        ):
            loaded[key].quarantine.append(
                {
                    "source_file": source_file,
                    "line": line,
                    "stage": "ingest",
                    "reason_code": code,
                    "reason": reason,
                    "record_id": record_id,
                    "duplicate_of": duplicate_of,
                    "detail": detail,
                }
            )
        for key, source_file, line, reason, detail, applies_to, code in rows(
            "i", "key", "source_file", "line", "reason", "detail", "applies_to", "code"
        ):
            loaded[key].issues.append(MetadataIssue(source_file, line, reason, detail, applies_to, code=code))
        # The texts stay columns (a string filter shares the text buffers, it does not copy them).
        candidates = df.filter(pl.col("rec") == "c").select(list(CANDIDATES))
        if not candidates["key"].is_in(list(loaded)).all():
            raise ValueError("a candidate of an entry the file does not hold")
        analyses = df.filter(pl.col("rec") == "a").select(list(ANALYSES))
        return loaded, candidates, analyses

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
        """Add a cached input's quarantine rows and issues to ``run`` (as reading it would); its
        candidates are in ``candidates()``. False when not cached."""
        record = self.loaded.get(key)
        if record is None:
            return False
        run.quarantine.extend(dict(q) for q in record.quarantine)
        run.issues.extend(record.issues)
        self.used[key] = record
        self.reused += 1
        return True

    def candidates(self) -> pl.DataFrame:
        """The CANDIDATES rows of the inputs replayed in this build."""
        reused = [k for k in self.used if k not in self.fresh]
        return _concat([c.filter(pl.col("key").is_in(reused)) for c in self._candidates], empty_candidates())

    def mark(self, run) -> tuple[int, int, int]:
        return len(run.quarantine), len(run.issues), len(run.candidates)

    def record(self, key: str, entry, run, marks: tuple[int, int, int]) -> None:
        """Remember what reading an input added to ``run`` (its candidates, prepared later, carry the key)."""
        before = self._stat_before.pop(key)
        try:
            if _stat_id(entry.path) != before:
                return  # changed while being read: do not cache what may be a mix
        except OSError:
            return
        q, i, c = marks
        for cand in run.candidates[c:]:
            cand.key = key
        self.used[key] = EntryRecord(list(run.quarantine[q:]), list(run.issues[i:]))
        self.fresh.add(key)

    # -- writing -------------------------------------------------------------------------------
    def save(self, fresh_candidates: pl.DataFrame, analyses: pl.DataFrame) -> bool:
        """Write what changed: new bundles' files, the small-entries file, the analyses; remove the
        files of inputs that are gone and of other fingerprints. True when anything was written.

        ``fresh_candidates``: the CANDIDATES rows of the inputs read in this build (prepared);
        ``analyses``: the ANALYSES rows of this build's texts, as completed by it."""
        wrote = False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.stage.sweep()  # other fingerprints' caches
            all_candidates = [fresh_candidates, *self._candidates]  # a key is in one of them only
            own = {_own_file(k): k for k in self.used if _has_own_file(k)}
            for old in self.directory.glob("entry-*.parquet"):
                if old.name not in own:
                    old.unlink(missing_ok=True)  # an input that is gone or changed
            for name, key in own.items():
                if key in self.fresh or not (self.directory / name).is_file():
                    self._write(self._frame({key: self.used[key]}, all_candidates), name)
                    wrote = True
            small = {k: r for k, r in self.used.items() if not _has_own_file(k)}
            if set(small) != self._loaded_small or self.fresh.intersection(small):
                if small:
                    self._write(self._frame(small, all_candidates), SMALL_FILE)
                else:
                    (self.directory / SMALL_FILE).unlink(missing_ok=True)
                wrote = True
            wrote = self._save_analyses(analyses) or wrote
        except Exception as exc:  # noqa: BLE001  (a cache that cannot be written costs time, never the build)
            log.warning("ingest cache %s not (fully) written: %s", self.directory, exc)
        return wrote

    def _save_analyses(self, analyses: pl.DataFrame) -> bool:
        """New or completed analyses go to the small delta file; analyses.parquet is rewritten when
        the delta, or the analyses of texts that are gone, grow past DELTA_MAX. Until then those
        stay in it: harmless (an analysis is a function of its text's sha256 alone), and replacing
        one article then does not rewrite the corpus' 33k rows."""
        known = self.analyses.select("key", parts())
        now = analyses.select("key", parts())
        changed = set(
            now.join(known, on="key", how="left", suffix="_known")
            .filter(pl.col("parts") != pl.col("parts_known").fill_null(-1))["key"]
            .to_list()
        )
        gone = known.height - int(known["key"].is_in(now["key"].implode()).sum())
        if not changed and gone <= DELTA_MAX:
            return False
        delta = self._delta_digests | changed
        if not self._base_loaded or len(delta) > DELTA_MAX or gone > DELTA_MAX:
            self._write(_padded(analyses, "a"), ANALYSES_FILE)
            (self.directory / DELTA_FILE).unlink(missing_ok=True)
        else:
            self._write(_padded(analyses.filter(pl.col("key").is_in(list(delta))), "a"), DELTA_FILE)
        return True

    def _write(self, frame: pl.DataFrame, name: str) -> None:
        # Row groups of 4096 rows: polars decodes them in parallel (a bundle's file holds one
        # row per text; read in one piece it takes ~1.5x as long on two cores).
        write_parquet_atomic(frame, self.directory / name, compression="lz4", row_group_size=4096)

    @staticmethod
    def _frame(entries: dict[str, EntryRecord], candidates: list[pl.DataFrame]) -> pl.DataFrame:
        """The file rows of these entries (their candidates taken from ``candidates``)."""
        keys = list(entries)
        qs = [(key, q) for key, r in entries.items() for q in r.quarantine]
        issues = [(key, i) for key, r in entries.items() for i in r.issues]
        parts_ = [
            # an input that contributed nothing is still known
            _padded(pl.DataFrame({"key": keys}, schema={"key": pl.String}), "e"),
            _padded(
                pl.DataFrame(
                    {
                        "key": [k for k, _ in qs],
                        **{
                            col: [q[name] for _, q in qs]
                            for col, name in (
                                ("source_file", "source_file"),
                                ("line", "line"),
                                ("code", "reason_code"),
                                ("reason", "reason"),
                                ("detail", "detail"),
                                ("record_id", "record_id"),
                                ("duplicate_of", "duplicate_of"),
                            )
                        },
                    },
                    schema={
                        c: _SCHEMA[c]
                        for c in ("key", "source_file", "line", "code", "reason", "detail", "record_id", "duplicate_of")
                    },
                ),
                "q",
            ),
            _padded(
                pl.DataFrame(
                    {
                        "key": [k for k, _ in issues],
                        **{
                            col: [getattr(i, name) for _, i in issues]
                            for col, name in (
                                ("source_file", "source_file"),
                                ("line", "line"),
                                ("reason", "message"),
                                ("detail", "detail"),
                                ("applies_to", "applies_to"),
                                ("code", "code"),
                            )
                        },
                    },
                    schema={
                        c: _SCHEMA[c] for c in ("key", "source_file", "line", "reason", "detail", "applies_to", "code")
                    },
                ),
                "i",
            ),
            *(_padded(c.filter(pl.col("key").is_in(keys)), "c") for c in candidates),
        ]
        return _concat(parts_, pl.DataFrame(schema=_SCHEMA))


def _padded(frame: pl.DataFrame, rec: str) -> pl.DataFrame:
    """``frame``'s rows as cache file rows of type ``rec`` (the other columns null)."""
    return frame.select(
        *(
            pl.col(name).cast(dtype)
            if name in frame.columns
            else (pl.lit(rec) if name == "rec" else pl.lit(None, dtype)).alias(name)
            for name, dtype in _SCHEMA.items()
        )
    )


def _concat(frames: list[pl.DataFrame], empty: pl.DataFrame) -> pl.DataFrame:
    """The non-empty frames one after the other (not rechunked: they are written or sorted next),
    or ``empty`` when there are none."""
    frames = [f for f in frames if f.height]
    return pl.concat(frames, rechunk=False) if frames else empty


def _has_own_file(key: str) -> bool:
    """Bundles get a file each (written once, never rewritten while unchanged); files share one."""
    return key.split("\0", 2)[1] == "bundle"


def _own_file(key: str) -> str:
    return f"entry-{hashlib.sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()[:32]}.parquet"


class session:
    """``with session(cache_dir, limits, hints) as cache:`` the cache for one build, locked and
    loaded; ``cache`` is None when the cache folder cannot be used (the build then runs uncached)."""

    def __init__(self, cache_root: Path, limits, publication_hints):
        self.stage = StageCache(cache_root, SUBDIR, fingerprint(limits, publication_hints))
        self.limits = limits
        self.lock: AbstractContextManager | None = None

    def __enter__(self) -> IngestCache | None:
        lock = self.stage.locked()
        try:
            lock.__enter__()
        except (OSError, Timeout) as exc:
            log.warning("ingest cache %s not used: %s", self.stage.base, exc)
            return None
        self.lock = lock
        cache = IngestCache(self.stage, self.limits.max_file_bytes)
        cache.load()
        return cache

    def __exit__(self, *exc) -> None:
        if self.lock is not None:
            self.lock.__exit__(*exc)
