"""Publish a release folder atomically.

A release is written into ``releases/.tmp-*``, checksummed, fsynced and renamed into place; only then
is ``releases/LATEST`` replaced (also by rename). A build killed at any moment therefore leaves
LATEST naming a complete release; the next build removes the leftovers. A file lock serialises
concurrent builds (the second waits). A rebuild whose tables are unchanged publishes nothing.

Two guards run under the lock, before anything is written; each stops the build with a message
saying what to do (pipeline.errors.UserError):
- **Referential integrity** (pipeline.releases.integrity_problems): every event's and mention's
  article is in ``articles`` and every mention's event in ``events``; a release that fails it is
  never published, whatever produced the tables.
- **Shrinking**: a release that drops more than SHRINK_LIMIT of the previous release's articles
  (an empty raw folder, an unmounted share) is refused unless ``allow_shrink`` (``--allow-shrink``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from filelock import FileLock

from pipeline.errors import UserError
from pipeline.release.changelog import build_changes, render_changelog_md
from pipeline.release.enrich import enrich_events
from pipeline.release.files import csv_bytes, frame_fingerprint, parquet_bytes, write_bytes, write_table
from pipeline.releases import (
    MANIFEST_FILE,
    REGISTRY_FILE,
    integrity_problems,
    list_versions,
    read_latest,
    releases_dir,
    verify_release,
    version_key,
    write_latest,
)
from pipeline.runtime import gc_paused
from pipeline.storage import SHA256SUMS, format_sha256sums, fsync_dir, fsync_tree, sha256_file
from schemas.models import RELEASE_TABLES, conform

LOCK_TIMEOUT_S = 3600
# A new release that drops more than this share of the previous release's articles is refused
# unless asked for: "most of it" (an empty raw folder removed all 22 events and 5 articles).
SHRINK_LIMIT = 0.5
PUBLIC_TABLES = ("events", "mentions", "articles", "quarantine")


@dataclass
class ReleaseTables:
    events: pl.DataFrame
    mentions: pl.DataFrame
    articles: pl.DataFrame
    quarantine: pl.DataFrame
    registry: pl.DataFrame
    lineage: pl.DataFrame | None = None


@dataclass
class Provenance:
    code_version: str
    dictionaries_fingerprint: str
    inputs_sha256: str
    raw_dir: str


@dataclass
class ReleaseOutcome:
    version: str
    path: Path
    published: bool
    manifest: dict = field(default_factory=dict)
    changes: pl.DataFrame | None = None


def _next_version(today: dt.date, existing: list[str]) -> str:
    base = today.strftime("%Y.%m.%d")
    taken = set(existing)
    if base not in taken:
        return base
    n = 2
    while f"{base}.{n}" in taken:
        n += 1
    return f"{base}.{n}"


def recover(outputs: Path) -> list[str]:
    """Clean what a killed build left behind; return what was done.

    - ``.tmp-*`` folders are half-written releases: removed.
    - A complete, verified release newer than LATEST was renamed into place just before the kill
      (LATEST is written right after the rename): LATEST is moved forward to it.
    - A newer release folder that does not verify is removed (it never was announced).
    """
    root = releases_dir(outputs)
    actions: list[str] = []
    if not root.is_dir():
        return actions
    for p in root.iterdir():
        if p.name.startswith(".tmp-") or (p.name.startswith(".") and p.name.endswith(".tmp")):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            actions.append(f"removed leftover {p.name}")
    latest = read_latest(outputs)
    for version in reversed(list_versions(outputs)):
        if latest is not None and version_key(version) <= version_key(latest):
            break
        if verify_release(root / version):
            shutil.rmtree(root / version, ignore_errors=True)
            actions.append(f"removed unverified release {version}")
        else:
            write_latest(outputs, version)
            actions.append(f"LATEST moved to complete release {version}")
            break
    return actions


def write_release(
    outputs: Path,
    tables: ReleaseTables,
    provenance: Provenance,
    *,
    today: dt.date,
    render_extras,
    allow_shrink: bool = False,
) -> ReleaseOutcome:
    """Write a new release unless the data is unchanged. ``render_extras(ctx) -> dict[name, text]``
    renders the data card, change log and citation (kept apart so they are testable alone).
    Refuses (UserError) tables that are not referentially intact, and a release that drops most
    of the previous one's articles unless ``allow_shrink``."""
    outputs.mkdir(parents=True, exist_ok=True)
    root = releases_dir(outputs)
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(outputs / ".release.lock"), timeout=LOCK_TIMEOUT_S), gc_paused():
        recover(outputs)
        problems = integrity_problems(tables.events, tables.mentions, tables.articles)
        if problems:
            raise UserError(
                "refusing to publish a release whose tables do not agree: " + "; ".join(problems),
                "nothing was published; build again (a build's tables came from different builds or "
                "steps); if it persists, report it with the build's log",
            )
        frames = {
            # goldstein and source_urls are added here, so every path that publishes has them.
            "events": conform(enrich_events(tables.events, tables.articles), RELEASE_TABLES["events"]),
            "mentions": conform(tables.mentions, RELEASE_TABLES["mentions"]),
            "articles": conform(tables.articles, RELEASE_TABLES["articles"]),
            "quarantine": conform(tables.quarantine, RELEASE_TABLES["quarantine"]),
        }
        # Each table's CSV is made once: it is both the canonical form the fingerprint hashes and
        # the CSV file a new release writes.
        csvs = {name: csv_bytes(df) for name, df in frames.items()}
        fingerprint = frame_fingerprint(
            pl.concat(
                [pl.DataFrame({"t": [name], "h": [frame_fingerprint(df, csvs[name])]}) for name, df in frames.items()]
            )
        )
        previous = read_latest(outputs)
        if previous is not None:
            prev_manifest = json.loads((root / previous / MANIFEST_FILE).read_text(encoding="utf-8"))
            if prev_manifest.get("data_fingerprint") == fingerprint:
                return ReleaseOutcome(previous, root / previous, False, prev_manifest)
        if previous is not None and not allow_shrink:
            _refuse_shrinking(root / previous, frames["articles"], provenance.raw_dir)
        version = _next_version(today, list_versions(outputs))
        prev_events = pl.read_parquet(root / previous / "events.parquet") if previous else None
        changes = conform(build_changes(prev_events, frames["events"], tables.lineage), RELEASE_TABLES["changes"])
        frames["changes"] = changes
        # The writer's pid ends the name: a build that starts sweeps only dead writers' folders.
        tmp = root / f".tmp-{version}-{uuid.uuid4().hex[:8]}-{os.getpid()}"
        tmp.mkdir()
        # Size and sha256 of every file written, hashed from memory as it is written.
        digests: dict[str, dict] = {}
        for name, df in frames.items():
            write_table(df, tmp, name, csv=csvs.get(name), digests=digests)
        del csvs
        digests[REGISTRY_FILE] = write_bytes(tmp / REGISTRY_FILE, parquet_bytes(tables.registry))
        changelog_entry = render_changelog_md(changes, version, previous)
        previous_log = (root / previous / "CHANGELOG.md").read_text(encoding="utf-8") if previous else ""
        manifest = {
            "name": "credence-diplomatic-events",
            "version": version,
            "previous_version": previous,
            "released_on": today.isoformat(),
            "data_fingerprint": fingerprint,
            "code_version": provenance.code_version,
            "dictionaries_fingerprint": provenance.dictionaries_fingerprint,
            "inputs_sha256": provenance.inputs_sha256,
            "counts": {name: df.height for name, df in frames.items()},
            "change_counts": {k: int(v) for k, v in changes.group_by("change_type").len().iter_rows()},
        }
        extras = render_extras(
            {
                "version": version,
                "previous": previous,
                "manifest": manifest,
                "frames": frames,
                "changelog_entry": changelog_entry,
                "previous_changelog": previous_log,
                "today": today,
                "folder": tmp,
                "digests": digests,
            }
        )
        for name, content in extras.items():
            digests[name] = write_bytes(tmp / name, content if isinstance(content, bytes) else content.encode("utf-8"))

        def digest(p: Path) -> dict:
            # A file render_extras wrote itself is hashed from disk.
            return digests[p.name] if p.name in digests else {"bytes": p.stat().st_size, "sha256": sha256_file(p)}

        files = {}
        for p in sorted(tmp.iterdir()):
            files[p.name] = dict(digest(p))
            stem = p.name.rsplit(".", 1)[0]
            if stem in frames:
                files[p.name]["rows"] = frames[stem].height
        manifest["files"] = files
        digests[MANIFEST_FILE] = write_bytes(
            tmp / MANIFEST_FILE, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
        )
        # SHA256SUMS last: it covers every other file, in `sha256sum -c` format.
        sums = format_sha256sums({p.name: digest(p)["sha256"] for p in sorted(tmp.iterdir())})
        (tmp / SHA256SUMS).write_text(sums, encoding="utf-8")
        fsync_tree(tmp)
        final = root / version
        tmp.rename(final)
        fsync_dir(root)
        write_latest(outputs, version)
        return ReleaseOutcome(version, final, True, manifest, changes)


def _refuse_shrinking(previous: Path, articles: pl.DataFrame, raw_dir: str) -> None:
    """UserError when ``articles`` lacks more than SHRINK_LIMIT of the previous release's articles."""
    before = pl.read_parquet(previous / "articles.parquet", columns=["article_id"])
    if before.height == 0:
        return
    dropped = before.join(articles.select("article_id"), on="article_id", how="anti").height
    if dropped > SHRINK_LIMIT * before.height:
        raise UserError(
            f"the new release would drop {dropped:,} of the {before.height:,} articles of release {previous.name} "
            f"(the raw folder {raw_dir} gave {articles.height:,} articles); nothing was published",
            "check that the raw folder is the right one and complete (a share not mounted looks empty); "
            "to publish it anyway, build with --allow-shrink (make run ALLOW_SHRINK=1)",
        )
