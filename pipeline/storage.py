"""Writing to disk: atomic replacement of a file, fsync, checksums and the SHA256SUMS format.

Every file that a build replaces (cache files, scratch tables between steps, LATEST, the download
page) goes through :func:`atomic_path`: written under a temporary name in the same folder, then
renamed over the target, so a reader or a killed build never sees half a file. The temporary name
carries this process's pid (``.<name>.<random>.<pid>.tmp``) so that :func:`remove_dead_temporaries`
can tell a dead writer's leftovers from a live writer's file.

``durable=True`` also fsyncs the file before the rename and its folder after it (a power cut
then cannot bring back the old content); caches and scratch tables skip that, since losing them
costs only time. A release folder is written whole and fsynced with :func:`fsync_tree` before it
is renamed into place (pipeline/release/publish.py).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import polars as pl

SHA256SUMS = "SHA256SUMS"
_CHUNK = 1 << 20


# ---------------------------------------------------------------------------------------------
# Atomic replacement


@contextmanager
def atomic_path(path: Path, *, durable: bool = False) -> Iterator[Path]:
    """``with atomic_path(p) as tmp:`` write ``tmp``; on leaving the block it replaces ``p`` (after
    an fsync when ``durable``). An exception leaves ``p`` as it was and no temporary behind."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.{os.getpid()}.tmp")
    try:
        yield tmp
        if durable:
            with tmp.open("rb") as f:
                os.fsync(f.fileno())
        tmp.replace(path)
        if durable:
            fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str, *, durable: bool = True) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), durable=durable)


def write_parquet_atomic(df: pl.DataFrame, path: Path, **parquet_options) -> None:
    """A Parquet file whole or not at all. ``parquet_options`` go to write_parquet (default: zstd
    level 1); uncompressed writes and reads several times faster, for files rewritten every build."""
    with atomic_path(path) as tmp:
        df.write_parquet(tmp, **(parquet_options or {"compression": "zstd", "compression_level": 1}))


def remove_dead_temporaries(folder: Path) -> list[Path]:
    """Remove temporaries left by a writer that was killed (their pid is in the name and no longer
    runs); return them. Call it under the lock that the folder's writers take, so no live writer's
    file on this machine is taken for dead."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        pid = tmp.name.rsplit(".", 2)[-2]
        if (not pid.isdigit() or not pid_alive(int(pid))) and tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable: without it a power cut after the rename may bring back
    the old name (the files themselves are synced before)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """fsync every file of ``folder`` (not recursive), then the folder itself."""
    for p in Path(folder).iterdir():
        with p.open("rb") as f:
            os.fsync(f.fileno())
    fsync_dir(folder)


# ---------------------------------------------------------------------------------------------
# Checksums


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def format_sha256sums(digests: Mapping[str, str]) -> str:
    """``sha256sum -c`` format: "<sha256>  <name>" per file, in the order given."""
    return "".join(f"{digest}  {name}\n" for name, digest in digests.items())


def parse_sha256sums(text: str) -> tuple[dict[str, str], list[str]]:
    """(name -> sha256, problems): a line that is not "<sha256>  <name>" is a problem, not skipped."""
    sums: dict[str, str] = {}
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or not name or not digest:
            problems.append(f"{SHA256SUMS} line {n}: not '<sha256>  <name>': {line!r}")
            continue
        sums[name] = digest
    return sums, problems


def read_sha256sums(folder: Path) -> tuple[dict[str, str], list[str]]:
    """The SHA256SUMS of ``folder`` parsed (see parse_sha256sums); a missing file is a problem."""
    path = Path(folder) / SHA256SUMS
    if not path.is_file():
        return {}, [f"{SHA256SUMS} missing"]
    return parse_sha256sums(path.read_text(encoding="utf-8"))
