"""The static download page, outputs/index.html, generated from the release folders' manifests.

Rendered from ``templates/index.html.j2`` (Jinja2, autoescaped: everything taken from the data,
quotes and names included, is escaped; the data card's Markdown is rendered with raw HTML disabled).
Every file link is relative to outputs/ (``releases/<version>/events.csv``), so the page works from
``make serve`` (http.server on outputs/), from any static host and straight from disk (file://).
The one absolute link is the explorer's (``make explore``: Datasette on 127.0.0.1). No JavaScript,
no external resources.

The page is written to a temporary file beside it and renamed over the old one, so a reader (or a
crash) never sees half a page; the fallback timeline image is written the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import polars as pl
from markdown_it import MarkdownIt
from markupsafe import Markup

from pipeline.release.render import render
from pipeline.releases import MANIFEST_FILE, list_versions, read_latest, releases_dir
from pipeline.settings import explorer_port
from pipeline.storage import SHA256SUMS, read_sha256sums, sha256_file, write_bytes_atomic

INDEX = "index.html"
SQLITE = "credence.sqlite"
TIMELINE = "timeline.png"
SITE_ASSETS = "site"  # outputs/site/: charts rendered for releases published before timeline.png existed
CHANGE_ORDER = ("added", "updated", "removed", "merged", "split")
PREVIEW_COLUMNS = (
    "event_id",
    "date_start",
    "date_end",
    "event_type",
    "modality",
    "actor_name",
    "target_name",
    "n_sources",
    "confidence",
    "summary",
)
PREVIEW_ROWS = 20
TABLE_ORDER = {name: i for i, name in enumerate(("events", "mentions", "articles", "quarantine", "changes"))}
# Files worth a sentence on the page; the rest are listed with their size and checksum only.
FILE_NOTES = {
    "README.md": "data card",
    "CHANGELOG.md": "change log",
    "CITATION.cff": "citation",
    "datapackage.json": "Frictionless descriptor",
    "SHA256SUMS": "checksums (sha256sum -c SHA256SUMS)",
    MANIFEST_FILE: "release manifest",
    "id_registry.parquet": "mention id to event id map",
    TIMELINE: "timeline chart",
    SQLITE: "every table in one SQLite database (make explore)",
    "codebook.md": "codebook: what the codes mean",
    "quality.json": "measured quality (make quality)",
    "datasette.json": "the explorer's metadata (make explore)",
}


@dataclass
class ReleaseEntry:
    version: str
    manifest: dict
    files: list[dict] = field(default_factory=list)  # name, href, bytes, sha256, rows


@dataclass
class SiteResult:
    path: Path
    versions: list[str]
    latest: str | None
    problems: list[str]
    timeline: str | None  # href of the chart shown, relative to outputs/
    preview: pl.DataFrame | None


def _href(version: str, name: str) -> str:
    return f"releases/{quote(version)}/{quote(name)}"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def load_releases(outputs: Path) -> tuple[list[ReleaseEntry], list[str]]:
    """Releases newest first, with their files (from the manifest; SHA256SUMS and the manifest itself,
    which the manifest cannot list, from SHA256SUMS), and the problems met (unreadable manifests)."""
    entries, problems = [], []
    for version in reversed(list_versions(outputs)):
        folder = releases_dir(outputs) / version
        try:
            manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            problems.append(f"release {version}: manifest unreadable ({err})")
            continue
        listed = dict(manifest.get("files", {}))
        sums, _ = read_sha256sums(folder)  # its problems are the release check's (verify_release)
        for extra in (MANIFEST_FILE, SHA256SUMS):
            p = folder / extra
            if extra not in listed and p.is_file():
                # SHA256SUMS cannot list itself: its hash is computed here so a reader can pin it.
                listed[extra] = {"bytes": p.stat().st_size, "sha256": sums.get(extra) or sha256_file(p)}
        files = []
        # Data tables first (events, mentions, ...), then the documents, each alphabetically.
        for name in sorted(
            listed, key=lambda n: (n.rsplit(".", 1)[0] not in TABLE_ORDER, TABLE_ORDER.get(n.rsplit(".", 1)[0], 0), n)
        ):
            info = listed[name]
            if not (folder / name).is_file():
                problems.append(f"release {version}: {name} is listed but missing")
                continue
            files.append(
                {
                    "name": name,
                    "href": _href(version, name),
                    "bytes": int(info.get("bytes", 0)),
                    "sha256": info.get("sha256", ""),
                    "rows": info.get("rows"),
                }
            )
        entries.append(ReleaseEntry(version, manifest, files))
    return entries, problems


def newest_events(events: pl.DataFrame, n: int = PREVIEW_ROWS) -> pl.DataFrame:
    """The n events with the latest dates (end of interval, then start, then first publication);
    undated events last; ties broken by event_id so the preview is stable."""
    cols = [c for c in PREVIEW_COLUMNS if c in events.columns]
    keys = [c for c in ("date_end", "date_start", "first_published_at", "event_id") if c in events.columns]
    return events.sort(keys, descending=True, nulls_last=True).select(cols).head(n)


def _cell(value) -> str:
    """A preview cell as text (the template escapes it)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return str(value)


def _change_summary(manifest: dict) -> str:
    counts = manifest.get("change_counts") or {}
    prev = manifest.get("previous_version")
    parts = [f"{counts[k]} {k}" for k in CHANGE_ORDER if counts.get(k)]
    parts += [f"{v} {k}" for k, v in sorted(counts.items()) if k not in CHANGE_ORDER and v]
    since = f"since {prev}" if prev else "first release"
    return f"{since}: " + (", ".join(parts) if parts else "no event changes")


def _file_rows(entry: ReleaseEntry) -> list[dict]:
    return [
        {
            **f,
            "note": FILE_NOTES.get(f["name"], ""),
            "size": human_size(f["bytes"]),
            # Tables download on click under their own name, as SHA256SUMS lists them (a browser
            # would otherwise display a CSV); the documents open in the browser.
            "download": f["name"].endswith((".csv", ".parquet", ".sqlite")),
        }
        for f in entry.files
    ]


def _quality_note(folder: Path) -> str:
    """A few words on the measured quality the card reports (from the shipped quality.json)."""
    path = folder / "quality.json"
    if not path.is_file():
        return "quality not measured"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return f"quality measured {str(record['date'])[:10]} on code {record['commit']}"
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"quality record unreadable ({type(err).__name__})"


def _render_markdown(text: str) -> str:
    # Raw HTML off: the data card quotes article text, which must never become markup on the page.
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return md.render(text)


def _ensure_timeline(outputs: Path, entry: ReleaseEntry) -> str | None:
    """href of the newest release's chart: its own timeline.png, else one rendered from its
    events.parquet into outputs/site/ (releases published before the chart was part of them)."""
    folder = releases_dir(outputs) / entry.version
    if (folder / TIMELINE).is_file():
        return _href(entry.version, TIMELINE)
    events_path = folder / "events.parquet"
    if not events_path.is_file():
        return None
    target = outputs / SITE_ASSETS / f"timeline-{entry.version}.png"
    if not target.is_file():
        from pipeline.release.chart import timeline_png  # matplotlib only when a chart is missing
        from pipeline.release.datacard import TIMELINE_TITLE

        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, timeline_png(pl.read_parquet(events_path), title=TIMELINE_TITLE))
    return f"{SITE_ASSETS}/{quote(target.name)}"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:1rem 1.5rem;color:#222;line-height:1.45}
h1{margin-bottom:.2rem} .sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;white-space:nowrap}
code.sha{font-size:.75rem;word-break:break-all}
.note{color:#666;font-size:.8rem}
section.release{border-top:2px solid #ccc;margin-top:1.5rem;padding-top:.5rem}
.badge{background:#2a7;color:#fff;border-radius:3px;padding:0 .4rem;font-size:.8rem;vertical-align:middle}
img.timeline{max-width:100%;border:1px solid #eee}
details{margin:.5rem 0 1rem} summary{cursor:pointer;font-weight:600}
.card{border:1px solid #eee;padding:0 1rem;background:#fcfcfc}
.problems{color:#a00}
"""  # noqa: E501 (one rule per line, as the page is served)


def render_index(outputs: Path, *, now: dt.datetime | None = None) -> tuple[str, SiteResult]:
    entries, problems = load_releases(outputs)
    latest = read_latest(outputs)
    now = now or dt.datetime.now(dt.UTC)
    timeline_href, preview = None, None
    # The chart, the preview and the rendered data card are those of the release LATEST names (the
    # newest folder unless a recovery moved LATEST), so the page agrees with read_latest().
    featured = latest if latest in {e.version for e in entries} else (entries[0].version if entries else None)
    releases = []
    for entry in entries:
        m, v = entry.manifest, entry.version
        counts = m.get("counts") or {}
        have = {f["name"]: f["href"] for f in entry.files}
        folder = releases_dir(outputs) / v
        r = {
            "version": v,
            "is_latest": v == latest,
            "released_on": str(m.get("released_on", "?")),
            "counts": ", ".join(
                f"{counts[k]} {k}" for k in ("events", "mentions", "articles", "quarantine") if k in counts
            ),
            "changes": _change_summary(m),
            "change_links": [
                (have[n], t) for n, t in (("CHANGELOG.md", "change log"), ("changes.csv", "changes.csv")) if n in have
            ],
            "card_href": have.get("README.md"),
            "quality": _quality_note(folder) if "README.md" in have else "",
            "sqlite_href": have.get(SQLITE),
            "files": _file_rows(entry),
            "featured": v == featured,
        }
        if v == featured:
            timeline_href = _ensure_timeline(outputs, entry)
            r["timeline_href"] = timeline_href
            events_path = folder / "events.parquet"
            r["preview"] = None
            if events_path.is_file():
                preview = newest_events(pl.read_parquet(events_path))
                r.update(
                    preview=preview,
                    preview_columns=preview.columns,
                    preview_rows=[[_cell(v) for v in row] for row in preview.iter_rows()],
                    n_events=counts.get("events", "?"),
                    events_csv=_href(v, "events.csv"),
                )
            card = folder / "README.md"
            r["card_html"] = Markup(_render_markdown(card.read_text(encoding="utf-8"))) if card.is_file() else ""
        releases.append(r)
    port = explorer_port()
    page = render(
        INDEX + ".j2",
        css=Markup(CSS),
        generated=now.strftime("%Y-%m-%d %H:%M UTC"),
        latest=latest,
        problems=problems,
        releases=releases,
        explorer_port=port,
        explorer_url=f"http://127.0.0.1:{port}/credence",
    )
    result = SiteResult(outputs / INDEX, [e.version for e in entries], latest, problems, timeline_href, preview)
    return page, result


def build_site(outputs: Path) -> SiteResult:
    """(Re)write outputs/index.html from the releases present; returns what it contains."""
    outputs = Path(outputs)
    page, result = render_index(outputs)
    outputs.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(outputs / INDEX, page.encode("utf-8"))
    return result


def page_links(page: str) -> list[str]:
    """The href and src targets of a page (used by the page's own check and by the tests)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class _Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for key, value in attrs:
                if key in ("href", "src") and value:
                    found.append(value)

    _Links().feed(page)
    return found


def page_link_problems(outputs: Path) -> tuple[int, list[str]]:
    """(links checked, problems): every relative link of index.html must name a file under outputs/,
    and the sha256 printed beside each release file must be the one in that release's SHA256SUMS."""
    index = outputs / INDEX
    if not index.is_file():
        return 0, [f"{index} does not exist"]
    page = index.read_text(encoding="utf-8")
    problems, checked = [], 0
    root = outputs.resolve()
    for link in page_links(page):
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or link.startswith("#"):
            continue  # the page has no external links today; an anchor needs no file
        checked += 1
        target = (outputs / unquote(parts.path)).resolve()
        if not target.is_relative_to(root):
            problems.append(f"{link}: points outside the outputs folder")
        elif not target.is_file():
            problems.append(f"{link}: no such file")
    entries, _ = load_releases(outputs)
    for entry in entries:
        sums, _ = read_sha256sums(releases_dir(outputs) / entry.version)
        for f in entry.files:
            if f["name"] in sums and sums[f["name"]] != f["sha256"]:
                problems.append(
                    f"{entry.version}/{f['name']}: page shows {f['sha256'][:12]}…, SHA256SUMS has "
                    f"{sums[f['name']][:12]}…"
                )
            if f["sha256"] and f["sha256"] not in page:
                problems.append(f"{entry.version}/{f['name']}: sha256 not shown on the page")
    return checked, problems
