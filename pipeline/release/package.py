"""The release's ``datapackage.json``, built and validated with the ``frictionless`` library.

Each table is two resources: its CSV (``events``) and its Parquet (``events-parquet``), both with
the Table Schema generated from the pandera model (types, required, unique, allowed values,
patterns, bounds); list columns are ';'-joined strings in CSV and arrays in Parquet. The CSV
resources carry the foreign keys (mentions -> events, mentions -> articles). The package names its
licence and its sources: the outlets of the articles (from their metadata) and the vocabularies the
codebook maps to.

Validation in the build (``validate_package``) is of two kinds:

- the descriptor, always: frictionless checks it against the Data Package profile, and
  ``Package.from_descriptor`` reads it back;
- the Parquet files: frictionless checks their size and sha256, ``check_parquet_columns`` their
  columns and types against the models;
- the data of every CSV resource, with its foreign keys, when the release is small enough
  (``FULL_VALIDATION_ROWS``). Frictionless validates row by row in Python: 3.4 s for the Tehran
  Times release (85k rows) on this machine, which a 32 s build and a 6.5 s incremental build
  cannot carry. Larger releases validate the first ``SAMPLE_ROWS`` rows of each table (types and
  constraints: 0.4 s there); their foreign keys are held by the blocking check
  ``events_provenance_complete`` in every build, and `frictionless validate datapackage.json`
  validates everything (3.7 s there; the test suite does it on the seeds).

A problem stops the release before it is published, with frictionless's own messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import frictionless
import polars as pl

from schemas.dictionary import frictionless_schema
from schemas.models import RELEASE_TABLES, polars_schema

TITLE = "Credence diplomatic events"
NAME = "credence-diplomatic-events"
LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0",
}
TABLE_DESCRIPTIONS = {
    "events": "One row per real-world event: the deduplicated cluster of its mentions across articles and outlets.",
    "mentions": "One row per extraction: one event told by one sentence of one article, with the "
    "verbatim quote and offsets.",
    "articles": "One row per distinct input text, with where it came from and when it was published.",
    "quarantine": "Every input that did not become an article and every row that failed validation, with the reason.",
    "changes": "What changed since the previous release: events added, updated (which fields), removed, "
    "merged or split.",
}
FOREIGN_KEYS = {
    "mentions": [
        {"fields": ["event_id"], "reference": {"resource": "events", "fields": ["event_id"]}},
        {"fields": ["article_id"], "reference": {"resource": "articles", "fields": ["article_id"]}},
    ],
}
VOCABULARY_SOURCES = [
    {
        "title": "CAMEO event codes (Schrodt, Conflict and Mediation Event Observations codebook 1.1b3)",
        "path": "https://parusanalytics.com/eventdata/data.dir/cameo.html",
    },
    {"title": "PLOVER event ontology (openeventdata/PLOVER)", "path": "https://github.com/openeventdata/PLOVER"},
    {
        "title": "Goldstein scale of the CAMEO codes, as in GDELT's CAMEO.goldsteinscale.txt (Goldstein 1992)",
        "path": "https://www.gdeltproject.org/data/lookups/CAMEO.goldsteinscale.txt",
    },
]
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
FULL_VALIDATION_ROWS = 20_000
SAMPLE_ROWS = 2_000
MAX_OUTLET_SOURCES = 25


@dataclass(frozen=True)
class FileDigest:
    bytes: int
    sha256: str


def article_sources(articles: pl.DataFrame) -> list[dict]:
    """One source per outlet named by the articles' metadata (most articles first), and one for the
    articles whose outlet no metadata states."""
    if articles.is_empty():
        return []
    counts = articles.group_by("outlet").len().sort(["len", "outlet"], descending=[True, False], nulls_last=True)
    known = counts.filter(pl.col("outlet").is_not_null())
    out = [
        {"title": f"{outlet} ({n} article{'s' if n != 1 else ''})"}
        for outlet, n in known.head(MAX_OUTLET_SOURCES).iter_rows()
    ]
    if known.height > MAX_OUTLET_SOURCES:
        rest = known.slice(MAX_OUTLET_SOURCES)
        out.append({"title": f"{rest.height} more outlets ({rest['len'].sum()} articles): see articles.outlet"})
    unknown = counts.filter(pl.col("outlet").is_null())
    if unknown.height:
        out.append({"title": f"articles of unknown outlet ({unknown['len'].item()}): see articles.source_file"})
    return out


def build_descriptor(ctx: dict) -> dict:
    """The release's package descriptor from the render context (``folder``, ``frames``,
    ``manifest``, ``digests``, ``today``). A plain dict: frictionless reads it once to validate it
    (each round trip through its objects costs tenths of a second)."""
    folder: Path = ctx["folder"]
    manifest = ctx["manifest"]
    digests: dict[str, dict] = ctx.get("digests") or {}

    def digest(name: str) -> FileDigest:
        d = digests.get(name)
        if d is None:  # written by someone else: read it
            from pipeline.storage import sha256_file

            path = folder / name
            return FileDigest(path.stat().st_size, sha256_file(path))
        return FileDigest(d["bytes"], d["sha256"])

    resources = []
    for name, model in RELEASE_TABLES.items():
        csv, parquet = digest(f"{name}.csv"), digest(f"{name}.parquet")
        schema = frictionless_schema(model)
        if name in FOREIGN_KEYS:
            schema["foreignKeys"] = FOREIGN_KEYS[name]
        resources.append(
            {
                "name": name,
                "type": "table",
                "path": f"{name}.csv",
                "scheme": "file",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "description": TABLE_DESCRIPTIONS[name],
                "bytes": csv.bytes,
                "hash": "sha256:" + csv.sha256,
                "schema": schema,
            }
        )
        # A file resource: frictionless checks its bytes and sha256 but does not parse it (its
        # Parquet reader goes through pandas and rejects native lists); check_parquet_columns
        # holds its columns to the schema.
        resources.append(
            {
                "name": f"{name}-parquet",
                "type": "file",
                "path": f"{name}.parquet",
                "scheme": "file",
                "format": "parquet",
                "mediatype": PARQUET_MEDIATYPE,
                "description": f"{TABLE_DESCRIPTIONS[name]} The same table as {name}.csv in Parquet "
                "(zstd): exact values, native types and lists; its schema is given here with lists as arrays.",
                "bytes": parquet.bytes,
                "hash": "sha256:" + parquet.sha256,
                "schema": frictionless_schema(model, lists="array"),
            }
        )
    return {
        "name": NAME,
        "title": TITLE,
        "version": manifest["version"],
        "description": "Who did what to whom, when, with the words that say so: diplomatic events coded "
        "from news articles, deduplicated across sources. README.md is the data card (coverage, "
        "measured quality, limitations); codebook.md defines the coding.",
        "licenses": [LICENSE],
        "sources": article_sources(ctx["frames"]["articles"]) + VOCABULARY_SOURCES,
        "created": ctx["today"].isoformat() + "T00:00:00Z",
        "keywords": ["event data", "diplomacy", "CAMEO", "PLOVER", "GDELT"],
        "resources": resources,
    }


def check_parquet_columns(folder: Path) -> list[str]:
    """Each table's Parquet file has exactly its model's columns, in order, with its types."""
    problems = []
    for name, model in RELEASE_TABLES.items():
        want = polars_schema(model)
        got = pl.read_parquet_schema(folder / f"{name}.parquet")
        if list(got) != list(want):
            problems.append(f"{name}.parquet: columns {list(got)} are not the model's {list(want)}")
            continue
        wrong = [f"{c} is {got[c]}, not {want[c]}" for c in want if got[c] != want[c]]
        if wrong:
            problems.append(f"{name}.parquet: " + "; ".join(wrong))
    return problems


def validate_package(descriptor: dict, folder: Path, frames: dict[str, pl.DataFrame]) -> list[str]:
    """Frictionless's problems with the package (empty when valid); see the module docstring for
    what is validated when."""
    try:
        package = frictionless.Package.from_descriptor(descriptor, basepath=str(folder))
    except frictionless.FrictionlessException as err:
        return [f"datapackage.json: {e.message}" for e in (err.reasons or [err.error])]
    rows = sum(frames[name].height for name in RELEASE_TABLES)
    if rows <= FULL_VALIDATION_ROWS:
        report = package.validate()
    else:
        # Foreign keys need whole tables (the blocking check events_provenance_complete holds them
        # for every build); the sample checks types and constraints.
        for resource in package.resources:
            if isinstance(resource, frictionless.resources.TableResource):
                resource.schema.foreign_keys = []
        report = package.validate(limit_rows=SAMPLE_ROWS)
    problems = [f"datapackage.json: {e.message}" for e in report.errors]
    for task in report.tasks:
        for error in task.errors[:5]:
            problems.append(f"{task.name}: {error.message}")
        if len(task.errors) > 5:
            problems.append(f"{task.name}: {len(task.errors) - 5} more errors")
    return problems + check_parquet_columns(folder)


def datapackage_json(ctx: dict) -> str:
    """datapackage.json, built and validated; raises ValueError with frictionless's messages."""
    descriptor = build_descriptor(ctx)
    problems = validate_package(descriptor, ctx["folder"], ctx["frames"])
    if problems:
        raise ValueError("the release's datapackage.json does not validate:\n  " + "\n  ".join(problems[:20]))
    return json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n"
