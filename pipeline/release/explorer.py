"""The release's explorer: ``credence.sqlite`` (every table in one SQLite database) and the
Datasette metadata that serves it (``datasette.json``: descriptions from the pandera models,
facets, canned queries). ``make explore`` runs Datasette on 127.0.0.1 over the LATEST release.

GDELT, ACLED and PUDL all let a user browse and filter before downloading (PUDL's issues #3832 and
#1198 asked for exactly this; PUDL answered with Datasette). The database holds:

- ``events``, ``mentions``, ``articles``, ``quarantine``, ``changes`` with their primary keys and
  the foreign keys mentions -> events and mentions -> articles, so Datasette links a mention to its
  event and article and an event page lists its mentions;
- ``event_articles`` (event_id, article_id): the many-to-many link, so an event page also lists its
  articles (titles, outlets, URLs) without going through a mention;
- two columns for browsing only: ``events.countries`` (the distinct actor and target countries, a
  JSON array for an array facet) and ``events.year`` (the year of an event whose known date lies in
  one year; null otherwise, as on the timeline);
- full-text search (FTS5) on events' summaries and quotes and on mentions' quotes;
- indexes on type, countries, dates, precision and the foreign keys.

Lists are JSON arrays (Datasette renders them), dates ISO text, booleans 0/1. Rows go in with
``executemany`` from polars (sqlite-utils makes the tables, keys, indexes and search): 1.0 s for
the Tehran Times release (85k rows) on this machine.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

import polars as pl
import sqlite_utils

from pipeline.release.dating import known_dates
from pipeline.release.package import LICENSE, TABLE_DESCRIPTIONS, TITLE
from schemas.dictionary import columns
from schemas.models import RELEASE_TABLES

SQLITE = "credence.sqlite"
METADATA = "datasette.json"
DATABASE = "credence"  # Datasette names a database after its file
PRIMARY_KEYS = {"events": "event_id", "mentions": "mention_id", "articles": "article_id"}
FOREIGN_KEYS = {
    "mentions": [("event_id", "events", "event_id"), ("article_id", "articles", "article_id")],
    "event_articles": [("event_id", "events", "event_id"), ("article_id", "articles", "article_id")],
}
SEARCH = {"events": ["summary", "quote"], "mentions": ["quote"]}
INDEXES = {
    "events": [
        ["event_type"],
        ["actor_country"],
        ["target_country"],
        ["date_start"],
        ["date_precision"],
        ["year"],
        ["modality"],
    ],
    "mentions": [["event_id"], ["article_id"], ["event_type"]],
    "event_articles": [["article_id"]],
    "changes": [["event_id"], ["change_type"]],
    "quarantine": [["reason_code"]],
}
EXTRA_COLUMNS = {
    "events": {
        "countries": "Browsing only: the distinct actor and target countries (a JSON array, for the facet).",
        "year": "Browsing only: the year of the event when its known date lies in one year (as on the "
        "timeline); null when undated, open-ended or spanning years.",
    }
}
_SQL_TYPES = {pl.Int64: int, pl.Int32: int, pl.UInt32: int, pl.Float64: float, pl.Boolean: int}


def _json_list(c: pl.Expr) -> pl.Expr:
    """A list of strings as a JSON array, in polars (a Python call per row took 0.4 s of the Tehran
    Times release's 1.4 s)."""
    escaped = c.list.eval(
        pl.element()
        .str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
        .str.replace_all("\n", "\\n", literal=True)
        .str.replace_all("\r", "\\r", literal=True)
        .str.replace_all("\t", "\\t", literal=True)
    )
    return (
        pl.when(c.list.len() == 0)
        .then(pl.lit("[]"))
        .otherwise(pl.concat_str(pl.lit('["'), escaped.list.join('", "'), pl.lit('"]')))
    )


def _sqlite_frame(name: str, df: pl.DataFrame) -> pl.DataFrame:
    """The table as SQLite stores it: lists as JSON arrays, dates as ISO text, booleans 0/1; the
    browsing columns added to events."""
    exprs = []
    for col, dtype in df.schema.items():
        c = pl.col(col)
        if isinstance(dtype, pl.List):
            c = _json_list(c)
        elif dtype == pl.Date:
            c = c.dt.to_string("%Y-%m-%d")
        elif dtype == pl.Boolean:
            c = c.cast(pl.Int64)
        exprs.append(c.alias(col))
    out = df.select(exprs)
    if name == "events" and df.height:
        countries = (
            pl.concat_list(pl.col("actor_country"), pl.col("target_country"))
            .list.drop_nulls()
            .list.unique(maintain_order=True)
        )
        one_year = known_dates(df) & (pl.col("date_start").dt.year() == pl.col("date_end").dt.year())
        extra = df.select(
            _json_list(countries).alias("countries"),
            pl.when(one_year).then(pl.col("date_start").dt.year()).otherwise(None).cast(pl.Int64).alias("year"),
        )
        out = pl.concat([out, extra], how="horizontal")
    elif name == "events":
        out = out.with_columns(pl.lit(None, pl.String).alias("countries"), pl.lit(None, pl.Int64).alias("year"))
    return out


def _column_types(df: pl.DataFrame) -> dict[str, type]:
    return {c: _SQL_TYPES.get(type(d) if not isinstance(d, type) else d, str) for c, d in df.schema.items()}


def _insert(conn: sqlite3.Connection, table: str, df: pl.DataFrame) -> None:
    if df.is_empty():
        return
    marks = ", ".join("?" for _ in df.columns)
    names = ", ".join(f'"{c}"' for c in df.columns)
    conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', df.iter_rows())


def build_sqlite(path: Path, frames: dict[str, pl.DataFrame]) -> None:
    """Write ``credence.sqlite`` at ``path`` from the release's tables (``frames``)."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    # The file is written once, then fsynced and renamed with the release folder: no journal.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    db = sqlite_utils.Database(conn)
    tables = {name: _sqlite_frame(name, frames[name]) for name in RELEASE_TABLES}
    tables["event_articles"] = (
        frames["events"]
        .select("event_id", pl.col("article_ids").alias("article_id"))
        .explode("article_id")
        .drop_nulls("article_id")
    )
    # Referenced tables first, so every foreign key points at an existing table.
    for name in ("events", "articles", "mentions", "event_articles", "quarantine", "changes"):
        df = tables[name]
        db[name].create(
            _column_types(df),
            pk=PRIMARY_KEYS.get(name),
            foreign_keys=FOREIGN_KEYS.get(name),
            column_order=df.columns,
        )
        _insert(conn, name, df)
        for index in INDEXES.get(name, []):
            db[name].create_index(index)
    conn.commit()
    for name, cols in SEARCH.items():
        db[name].enable_fts(cols, fts_version="FTS5", tokenize="porter")
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def _table_metadata(name: str) -> dict:
    model = RELEASE_TABLES[name]
    cols = {c.name: c.description for c in columns(model)}
    cols.update(EXTRA_COLUMNS.get(name, {}))
    return {"description": TABLE_DESCRIPTIONS[name], "columns": cols}


EVENT_SOURCES_SQL = """select
  m.mention_id, m.quote, m.modality, m.date_text, m.date_start, m.date_end, m.confidence,
  a.title, a.outlet, a.url, a.published_at, a.source_file, e.event_id
from events e
join mentions m on m.event_id = e.event_id
join articles a on a.article_id = m.article_id
where e.event_id = :event_id
order by a.published_at, a.source_file, m.sentence_index"""

COUNTRY_PAIR_SQL = """select
  date_start, date_end, date_precision, event_type, modality,
  actor_country, target_country, n_sources, summary, event_id
from events
where (actor_country = upper(:country_a) and target_country = upper(:country_b))
   or (actor_country = upper(:country_b) and target_country = upper(:country_a))
order by date_start is null, date_start, date_end, event_id"""

COUNTRY_PAIR_YEARS_SQL = """select
  coalesce(cast(year as text), 'undated') as year, event_type, count(*) as events
from events
where (actor_country = upper(:country_a) and target_country = upper(:country_b))
   or (actor_country = upper(:country_b) and target_country = upper(:country_a))
group by 1, 2
order by year = 'undated', year, events desc"""


def datasette_metadata(version: str) -> dict:
    """Datasette metadata for the release's database: titles and descriptions from the pandera
    models, facets and canned queries."""
    tables = {name: _table_metadata(name) for name in RELEASE_TABLES}
    tables["events"].update(
        facets=["event_type", {"array": "countries"}, "modality", "date_precision", "year"],
        label_column="summary",
        sort_desc="date_start",
        searchmode="raw",
    )
    tables["mentions"].update(facets=["event_type", "modality"], label_column="quote", sort="article_id")
    tables["articles"].update(facets=["outlet", "published_basis"], label_column="title")
    tables["quarantine"].update(facets=["stage", "reason_code"])
    tables["changes"].update(facets=["change_type"])
    tables["event_articles"] = {"description": "Which articles report which event (many to many)."}
    return {
        "title": f"{TITLE}, release {version}",
        "description": "Diplomatic events coded from news articles. Filter the events by type, country, "
        "modality, date precision or year; search their quotes; follow an event to its mentions and "
        "articles. The data card (README.md) and codebook.md in the release say what the codes mean and "
        "how reliable the rows are.",
        "license": LICENSE["title"],
        "license_url": LICENSE["path"],
        "source": "Credence (the release's datapackage.json lists the outlets)",
        # Datasette lists every column's description above the rows; in a scrolling box of a few
        # lines the rows stay on the first screen (the descriptions are also in each column's menu).
        "extra_css_urls": [
            "data:text/css,"
            + quote("dl.column-descriptions{max-height:9em;overflow:auto;border:1px solid #ddd;padding:.3em .6em}")
        ],
        "databases": {
            DATABASE: {
                "tables": tables,
                "queries": {
                    "event_sources": {
                        "title": "An event with its mentions, quotes and article URLs",
                        "description": "Every sentence that tells the event, with the article it comes from.",
                        "sql": EVENT_SOURCES_SQL,
                    },
                    "country_pair": {
                        "title": "Events of a country pair over time",
                        "description": "Every event between two countries (ISO3 codes, either direction), "
                        "oldest first; undated events last.",
                        "sql": COUNTRY_PAIR_SQL,
                    },
                    "country_pair_by_year": {
                        "title": "Events of a country pair per year and type",
                        "description": "Counts per year (of events with a known date in one year) and type.",
                        "sql": COUNTRY_PAIR_YEARS_SQL,
                    },
                },
            }
        },
    }


def write_explorer(folder: Path, frames: dict[str, pl.DataFrame], version: str) -> dict[str, bytes]:
    """Write credence.sqlite into the release folder; return datasette.json's content (the writer
    hashes the database from disk)."""
    build_sqlite(folder / SQLITE, frames)
    return {METADATA: (json.dumps(datasette_metadata(version), indent=2, ensure_ascii=False) + "\n").encode()}
