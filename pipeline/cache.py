"""The one cache helper every stage uses: ``<cache_root>/<stage>[/<part>]/<fingerprint>/``.

A stage's cache holds what an earlier build computed and a rebuild may reuse. It is keyed by a
fingerprint of everything that shapes its content besides the inputs: the stage's package
folder and the shared folders it reads (pipeline/text/, schemas/), found by globbing them, so a
new module is covered the moment it exists (a hand-kept list of files once let a new module in
extract/ reuse stale mentions). A change to any of them starts a fresh folder; the old
fingerprints' folders of this stage (and part) are removed by :meth:`StageCache.sweep`, and
nothing else is: each stage owns its own folder, so no cache can delete another's files.

The folder has one lock (``.lock``): two builds on one outputs folder take turns, and under it
the temporaries of killed writers are removed (pipeline.storage). Files are replaced atomically.

A damaged cache never fails a build: :func:`read_cache_frame` turns a file that cannot be read
(truncated, zeroed, random bytes, other columns) into a cache miss with a warning, and the stage
computes and rewrites it. (A damaged extraction cache once failed every later build until someone
deleted ``.cache``.)
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from filelock import FileLock

from pipeline.settings import PROJECT_ROOT
from pipeline.storage import remove_dead_temporaries

log = logging.getLogger(__name__)

# Two builds sharing an outputs folder take turns on a cache (the second then reuses what the
# first computed); as long as the release lock's wait, since a build may wait that long anyway.
LOCK_TIMEOUT_S = 3600
KEY_LENGTH = 20  # hex digits of the fingerprint that name its folder
_KEY = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}")
_FINGERPRINTED = {".py", ".yaml"}  # code and data; not caches, docs or bytecode
# The shared folders whose files shape every stage's results.
TEXT_DIR = PROJECT_ROOT / "pipeline" / "text"
SCHEMAS_DIR = PROJECT_ROOT / "schemas"


def source_fingerprint(*sources: Path, salt: str = "") -> str:
    """sha256 over ``salt`` and the files of ``sources``: a folder stands for every .py and .yaml
    file below it, a file for itself. Paths are hashed relative to the project, so a moved or
    renamed file changes the fingerprint as a changed one does."""
    h = hashlib.sha256(salt.encode())
    for source in sources:
        source = Path(source).resolve()
        label = source.relative_to(PROJECT_ROOT) if source.is_relative_to(PROJECT_ROOT) else Path(source.name)
        if source.is_dir():
            files = sorted(
                p.relative_to(source)
                for p in source.rglob("*")
                if p.suffix in _FINGERPRINTED and p.is_file() and "__pycache__" not in p.parts
            )
        else:
            files = [Path()]  # the file itself; a missing one fails here, loudly, rather than being left out
        for f in files:
            h.update(f"\0{(label / f).as_posix()}\0".encode())
            h.update((source / f).read_bytes() if f.parts else source.read_bytes())
    return h.hexdigest()


class StageCache:
    """The cache folder of one stage (and part, e.g. one bucket of the scale-out job) for one
    fingerprint: ``dir`` holds this fingerprint's files."""

    def __init__(self, cache_root: Path, stage: str, fingerprint: str, part: str | None = None):
        self.base = Path(cache_root) / stage / part if part else Path(cache_root) / stage
        self.fingerprint = fingerprint
        self.key = fingerprint[:KEY_LENGTH]
        self.dir = self.base / self.key

    def file(self, name: str) -> Path:
        return self.dir / name

    @contextmanager
    def locked(self) -> Iterator[StageCache]:
        """Hold the stage's lock (waiting for another build's turn) and clear dead temporaries."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.base / ".lock"), timeout=LOCK_TIMEOUT_S):
            remove_dead_temporaries(self.dir)
            yield self

    def sweep(self) -> None:
        """Remove this stage's folders of other fingerprints (an older code or dictionary). Only
        folders named like a fingerprint are touched: the lock and a part's subfolders stay."""
        if not self.base.is_dir():
            return
        for other in self.base.iterdir():
            if other.is_dir() and other.name != self.key and _KEY.fullmatch(other.name):
                shutil.rmtree(other, ignore_errors=True)


def read_cache_frame(path: Path, schema: dict, what: str) -> pl.DataFrame | None:
    """The cache file at ``path`` when it is there, readable and has exactly ``schema``'s columns;
    None otherwise (missing: silently; damaged: with a warning naming the file). Never raises."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any damage (torn, zeroed, foreign bytes) is a cache miss
        log.warning("%s file %s is unreadable (%s); ignored, this build recomputes it", what, path, exc)
        return None
    if dict(frame.schema) != dict(schema):
        log.warning("%s file %s has other columns than expected; ignored, this build recomputes it", what, path)
        return None
    return frame
