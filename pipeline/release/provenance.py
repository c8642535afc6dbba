"""Provenance of a release: code version and a hash of its inputs."""

from __future__ import annotations

import hashlib
import subprocess
from importlib import metadata

import polars as pl

from pipeline.settings import PROJECT_ROOT


def code_version() -> str:
    """The git commit of the code (with '-dirty' when it has uncommitted changes), else the package version."""
    try:
        head = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        try:
            return "credence " + metadata.version("credence")
        except metadata.PackageNotFoundError:
            return "unknown"


def inputs_sha256(articles: pl.DataFrame, quarantine: pl.DataFrame) -> str:
    h = hashlib.sha256()
    # "<sha256> <source_file>\n" per article in sorted order (both columns are required by the
    # schema), joined by polars: UTF-8 byte order is code point order, so this is the order (and
    # the bytes) of sorting the Python tuples.
    h.update(
        articles.select("sha256", "source_file")
        .sort("sha256", "source_file")
        .select(pl.concat_str(pl.col("sha256"), pl.lit(" "), pl.col("source_file"), pl.lit("\n")).str.join(""))
        .item()
        .encode()
    )
    for row in sorted(
        quarantine.filter(pl.col("stage") == "ingest").select("source_file", "line", "reason_code").iter_rows(), key=str
    ):
        h.update(f"{row}\n".encode())
    return h.hexdigest()
