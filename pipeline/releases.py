"""The releases folder as data: ``<outputs>/releases/<version>/`` and ``LATEST``.

Read by every stage that needs an earlier build's result (dedup's previous id registry, the
download page, the evaluator, the checks); written only by pipeline/release/publish.py.
Versions are calendar dates, ``YYYY.MM.DD[.N]``; a folder counts as a release once its manifest
is there (a release is renamed into place whole, so that is once it is complete).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.storage import read_sha256sums, sha256_file, write_text_atomic

LATEST = "LATEST"
MANIFEST_FILE = "release_manifest.json"
REGISTRY_FILE = "id_registry.parquet"


def releases_dir(outputs: Path) -> Path:
    return Path(outputs) / "releases"


def read_latest(outputs: Path) -> str | None:
    """The version LATEST names, when that release exists; else None."""
    latest = releases_dir(outputs) / LATEST
    if not latest.is_file():
        return None
    name = latest.read_text(encoding="utf-8").strip()
    if name and (releases_dir(outputs) / name / MANIFEST_FILE).is_file():
        return name
    return None


def write_latest(outputs: Path, version: str) -> None:
    """Point LATEST at ``version`` (atomically and durably: it is the commit point of a release)."""
    write_text_atomic(releases_dir(outputs) / LATEST, version + "\n")


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def list_versions(outputs: Path) -> list[str]:
    """Every release folder (with a manifest), oldest first."""
    root = releases_dir(outputs)
    if not root.is_dir():
        return []
    found = [
        p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST_FILE).is_file()
    ]
    return sorted(found, key=version_key)


def verify_release(folder: Path) -> list[str]:
    """The problems found (empty when every file listed in SHA256SUMS is there and matches)."""
    sums, problems = read_sha256sums(folder)
    for name, digest in sums.items():
        target = Path(folder) / name
        if not target.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(target) != digest:
            problems.append(f"{name}: checksum mismatch")
    return problems


def verify_latest(outputs: Path) -> tuple[str | None, list[str]]:
    """(the LATEST version, the problems verify_release finds in it); no LATEST is a problem."""
    latest = read_latest(outputs)
    if latest is None:
        return None, ["no LATEST release"]
    return latest, verify_release(releases_dir(outputs) / latest)


def load_previous_registry(outputs: Path) -> pl.DataFrame | None:
    """The id registry (mention_id -> event_id) of the LATEST release, or None before the first."""
    latest = read_latest(outputs)
    if latest is None:
        return None
    path = releases_dir(outputs) / latest / REGISTRY_FILE
    return pl.read_parquet(path) if path.is_file() else None


def integrity_problems(events: pl.DataFrame, mentions: pl.DataFrame, articles: pl.DataFrame) -> list[str]:
    """What in a release points at nothing: events' and mentions' articles missing from
    ``articles``, mentions' events missing from ``events``. Empty for an intact release. (Two builds
    sharing an outputs folder once published 765 events whose articles were all missing.)"""
    known = articles.select("article_id")
    problems = []
    event_articles = events.select("event_id", pl.col("article_ids").alias("article_id")).explode("article_id")
    lost = event_articles.filter(pl.col("article_id").is_not_null()).join(known, on="article_id", how="anti")
    if lost.height:
        problems.append(
            f"{lost['event_id'].n_unique()} events name {lost['article_id'].n_unique()} articles that are not in "
            f"articles (e.g. event {lost['event_id'][0]}, article {lost['article_id'][0]})"
        )
    lost = mentions.select("mention_id", "article_id").join(known, on="article_id", how="anti")
    if lost.height:
        problems.append(
            f"{lost.height} mentions name articles that are not in articles (e.g. mention {lost['mention_id'][0]}, "
            f"article {lost['article_id'][0]})"
        )
    lost = mentions.select("mention_id", "event_id").join(events.select("event_id"), on="event_id", how="anti")
    if lost.height:
        problems.append(
            f"{lost.height} mentions name events that are not in events (e.g. mention {lost['mention_id'][0]}, "
            f"event {lost['event_id'][0]})"
        )
    return problems
