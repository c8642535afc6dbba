"""Walk the raw folder: every entry becomes an input to read or a reason it is not read.

Rules: names starting with "." are reported (hidden_file), not read; symlinks are followed only
when they resolve to a regular file inside the raw folder; symlinked folders are not descended
(their target, when inside, is walked anyway; outside, it is not ours); FIFOs, sockets and devices
are never opened (a FIFO would block the run).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pipeline.ingest.metadata import SOURCES_FILE

BUNDLE_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


@dataclass(frozen=True)
class Entry:
    source_file: str  # POSIX path relative to the raw folder
    path: Path  # path to open (inside the raw folder)
    kind: str  # "text" | "html" | "bundle" | "sources" | "other"
    size: int


@dataclass(frozen=True)
class Skipped:
    source_file: str
    reason_code: str
    reason: str
    detail: str | None = None


def display_name(name: str) -> str:
    """File names are bytes on POSIX; undecodable ones are shown escaped so they can be stored as UTF-8."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def kind_of(rel: str) -> str:
    low = rel.lower()
    if rel == SOURCES_FILE:
        return "sources"
    if low.endswith(BUNDLE_SUFFIXES):
        return "bundle"
    if low.endswith(TEXT_SUFFIXES):
        return "text"
    if low.endswith(HTML_SUFFIXES):
        return "html"
    return "other"


def _inside(root: Path, target: Path) -> bool:
    try:
        target.relative_to(root)
        return True
    except ValueError:
        return False


def discover(raw_dir: Path) -> tuple[list[Entry], list[Skipped]]:
    root = Path(os.path.realpath(raw_dir))
    if not root.is_dir():  # a configuration error, not bad input: fail loudly
        raise NotADirectoryError(f"raw folder {raw_dir} does not exist or is not a folder")
    entries: list[Entry] = []
    skipped: list[Skipped] = []

    def walk(directory: Path, prefix: str) -> None:
        try:
            with os.scandir(directory) as it:
                children = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped(prefix.rstrip("/") or ".", "unreadable", "folder cannot be listed", str(exc)[:300]))
            return
        for child in children:
            rel = prefix + display_name(child.name)
            if child.name.startswith("."):
                what = "folder" if child.is_dir(follow_symlinks=False) else "file"
                skipped.append(Skipped(rel, "hidden_file", f"hidden {what} (name starts with '.'); not read"))
                continue
            if child.is_symlink():
                target = Path(os.path.realpath(child.path))
                if not _inside(root, target):
                    skipped.append(
                        Skipped(
                            rel,
                            "symlink_outside",
                            "symlink leads out of the raw folder; not followed",
                            f"target={display_name(str(target))}"[:300],
                        )
                    )
                    continue
                try:
                    st = os.stat(target)
                except OSError as exc:
                    skipped.append(Skipped(rel, "unreadable", "broken symlink", str(exc)[:300]))
                    continue
                if stat.S_ISDIR(st.st_mode):
                    skipped.append(
                        Skipped(
                            rel,
                            "symlink_dir",
                            "symlinked folder not descended (its target inside the raw folder is read directly)",
                            f"target={display_name(str(target.relative_to(root)))}",
                        )
                    )
                    continue
                if not stat.S_ISREG(st.st_mode):
                    skipped.append(Skipped(rel, "not_regular_file", "symlink to a FIFO, socket or device; not opened"))
                    continue
                entries.append(Entry(rel, target, kind_of(rel), st.st_size))
                continue
            try:
                st = child.stat(follow_symlinks=False)
            except OSError as exc:
                skipped.append(Skipped(rel, "unreadable", "cannot stat file", str(exc)[:300]))
                continue
            if stat.S_ISDIR(st.st_mode):
                walk(Path(child.path), rel + "/")
            elif stat.S_ISREG(st.st_mode):
                entries.append(Entry(rel, Path(child.path), kind_of(rel), st.st_size))
            else:
                skipped.append(Skipped(rel, "not_regular_file", "FIFO, socket or device; not opened"))

    walk(root, "")
    return entries, skipped
