"""Real-browser tests (headless Debian Chromium through Playwright).

1. The download page, served over HTTP from a temporary outputs folder: it opens, every link and
   image resolves, and a file downloaded by clicking its link has the sha256 SHA256SUMS lists.
2. The explorer (Datasette over a seed build's credence.sqlite, as `make explore` runs it): events
   are filtered by a facet, found by a word of their quote, one is followed to its quotes and
   articles, and a filtered CSV is downloaded.
3. `dagster dev` on a free local port with its own DAGSTER_HOME, raw and outputs folders: the UI
   opens, "Materialize all" is clicked, the run succeeds and a release and its download page appear.

Screenshots go to test-artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline.instance_home import ensure_home
from pipeline.release.site import INDEX, build_site
from pipeline.releases import read_latest, releases_dir

PROJECT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason=f"{CHROMIUM} is missing (CI installs Debian's chromium; "
        "`apt-get install chromium` to run the browser tests)",
    ),
]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(folder: Path):
    """http.server on a free 127.0.0.1 port, as `make serve` does, in a thread."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def sha256sums(folder: Path) -> dict[str, str]:
    out = {}
    for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        out[name] = digest
    return out


def check_download_page(page, base_url: str, outputs: Path, shot: str) -> dict:
    """Open the page, resolve every link and image, download two tables by clicking; returns facts."""
    page.goto(base_url)
    assert "Credence" in page.title()
    latest = read_latest(outputs)
    assert page.locator("#latest").inner_text() == latest
    sections = page.locator("section.release h2").all_inner_texts()
    assert sections and sections[0].startswith(f"Release {latest}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)

    # Every link is relative, except the explorer's: a local Datasette (make explore), tested below.
    explorer = page.eval_on_selector_all("a.explorer", "els => els.map(e => e.getAttribute('href'))")
    assert all(link.startswith("http://127.0.0.1:") for link in explorer)
    hrefs = page.eval_on_selector_all("a[href]:not(.explorer)", "els => els.map(e => e.getAttribute('href'))")
    srcs = page.eval_on_selector_all("img[src]", "els => els.map(e => e.getAttribute('src'))")
    assert hrefs and srcs
    for link in hrefs + srcs:
        assert not link.startswith(("/", "http:", "https:", "file:")), f"not relative: {link}"
        response = page.request.get(base_url + link)
        assert response.status == 200, f"{link}: HTTP {response.status}"
    # The chart is drawn (a broken image has naturalWidth 0).
    widths = page.eval_on_selector_all("img.timeline", "els => els.map(e => e.naturalWidth)")
    assert widths and all(w > 0 for w in widths)

    folder = releases_dir(outputs) / latest
    sums = sha256sums(folder)
    for name in ("events.csv", "events.parquet"):
        with page.expect_download() as info:
            page.click(f'a[href="releases/{latest}/{name}"]')
        download = info.value
        assert download.suggested_filename == name
        digest = hashlib.sha256(Path(download.path()).read_bytes()).hexdigest()
        assert digest == sums[name], f"{name}: downloaded file does not match SHA256SUMS"
    return {"links": len(hrefs), "images": len(srcs), "latest": latest}


def test_download_page_links_resolve_and_downloads_match_sha256sums(browser, tmp_path: Path):
    from tests.test_site import event_row, publish

    outputs = tmp_path / "outputs"
    publish(outputs, [event_row("a", "2024-01-05"), event_row("b", "2024-03-02", "RUS", "CHN")], "2026-01-01")
    publish(
        outputs,
        [
            event_row("a", "2024-01-05"),
            event_row("b", "2024-03-02", "RUS", "CHN"),
            event_row("c", "2024-06-30", "FRA", "DEU"),
        ],
        "2026-01-02",
    )
    build_site(outputs)
    with serve(outputs) as base_url:
        page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900})
        facts = check_download_page(page, base_url, outputs, "download_page.png")
    assert facts["latest"] == "2026.01.02"
    # Both releases are listed, each with its files.
    assert facts["links"] > 2 * 17


# ---------------------------------------------------------------------------------------------
# the explorer (make explore)


@contextlib.contextmanager
def datasette(folder: Path, tmp_path: Path):
    """Datasette over a release folder as `make explore` starts it, on a free port; stopped with
    SIGTERM to its process group."""
    from pipeline.release.explore import datasette_command

    port = free_port()
    log = (tmp_path / "datasette.log").open("wb")
    proc = subprocess.Popen(
        datasette_command(folder, port), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=PROJECT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"datasette exited: {(tmp_path / 'datasette.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(base + "/-/versions.json", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def seed_release(tmp_path_factory) -> Path:
    """A release built from the seed articles through the whole pipeline."""
    import shutil

    from tests.conftest import SEEDS
    from tests.test_pipeline_e2e import build

    root = tmp_path_factory.mktemp("explorer")
    raw = root / "raw"
    raw.mkdir()
    for p in SEEDS.glob("*.txt"):
        shutil.copy2(p, raw / p.name)
    assert build(raw, root / "outputs").success
    return releases_dir(root / "outputs") / read_latest(root / "outputs")


def test_explorer_filters_searches_follows_an_event_to_its_quotes_and_downloads_a_filtered_csv(
    browser, seed_release: Path, tmp_path: Path
):
    import polars as pl

    events = pl.read_parquet(seed_release / "events.parquet")
    mentions = pl.read_parquet(seed_release / "mentions.parquet")
    articles = pl.read_parquet(seed_release / "articles.parquet")
    ARTIFACTS.mkdir(exist_ok=True)
    with datasette(seed_release, tmp_path) as base:
        page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(f"{base}/credence/events")
        assert "One row per real-world event" in page.content()  # the description from the metadata
        for facet in ("event_type", "countries", "modality", "date_precision", "year"):
            assert page.locator(f"#facet-{facet}").count() == 1, f"no {facet} facet"
        page.screenshot(path=str(ARTIFACTS / "explorer_events.png"), full_page=True)

        # Filter by a facet: click the most frequent event type.
        top_type, n_top = (
            events.group_by("event_type").len().sort(["len", "event_type"], descending=[True, False]).row(0)
        )
        page.locator("#facet-event_type a", has_text=top_type).first.click()
        page.wait_for_url(f"**event_type={top_type}**")
        shown = page.locator("table.rows-and-columns tbody tr").count()
        assert shown == n_top, (shown, n_top)
        page.screenshot(path=str(ARTIFACTS / "explorer_filtered.png"), full_page=True)

        # Download the filtered table as CSV (Advanced export, "download file").
        page.locator("#export input[name=_dl]").check()
        with page.expect_download() as info:
            page.locator('#export input[type=submit][value="Export CSV"]').click()
        rows = pl.read_csv(info.value.path(), infer_schema=False)
        assert rows.height == n_top and set(rows["event_type"]) == {top_type}
        assert set(rows["event_id"]) == set(events.filter(pl.col("event_type") == top_type)["event_id"])

        # Find an event by a word of its quote (full-text search), then follow it to its quotes.
        target = events.sort("n_mentions", "event_id", descending=[True, False]).row(0, named=True)
        word = max((w.strip(".,;:'\"()") for w in target["quote"].split()), key=len)
        page.goto(f"{base}/credence/events")
        page.fill("#_search", word)
        page.press("#_search", "Enter")
        page.wait_for_url("**_search=**")
        page.get_by_role("link", name=target["event_id"], exact=True).click()
        page.wait_for_url(f"**/credence/events/{target['event_id']}")
        page.screenshot(path=str(ARTIFACTS / "explorer_event.png"), full_page=True)
        page.locator(f'a[href="/credence/mentions?event_id={target["event_id"]}"]').click()
        page.wait_for_url("**/credence/mentions?event_id=**")
        own = mentions.filter(pl.col("event_id") == target["event_id"])
        assert page.locator("table.rows-and-columns tbody tr").count() == own.height
        text = page.locator("table.rows-and-columns").inner_text()
        for quote in own["quote"]:
            assert quote.split("\n")[0][:60] in text
        page.screenshot(path=str(ARTIFACTS / "explorer_quotes.png"), full_page=True)

        # The canned query: the event with its mentions, quotes and articles.
        page.goto(f"{base}/credence/event_sources?event_id={target['event_id']}")
        table = page.locator("table.rows-and-columns").inner_text()
        files = articles.filter(pl.col("article_id").is_in(own["article_id"].implode()))["source_file"]
        assert all(f in table for f in files)
        page.screenshot(path=str(ARTIFACTS / "explorer_event_sources.png"), full_page=True)


# ---------------------------------------------------------------------------------------------
# dagster dev


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId status jobName } } } }"
REPO_QUERY = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
LAUNCH_BUILD = """mutation { launchRun(executionParams: {selector: {repositoryLocationName: "%s",
  repositoryName: "__repository__", jobName: "build_release"}}) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""


def _location(port: int) -> str:
    return _graphql(port, REPO_QUERY)["data"]["repositoriesOrError"]["nodes"][0]["location"]["name"]


@contextlib.contextmanager
def dagster_dev(tmp_path: Path, raw: Path, outputs: Path):
    """`dagster dev` in its own process group (job control on, so it takes SIGINT), stopped with
    SIGINT to the group so it shuts down its webserver, daemon and code server; killed only if it
    does not stop in time."""
    home = ensure_home(tmp_path / "dagster_home")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CREDENCE_RAW_DIR": str(raw),
        "CREDENCE_OUTPUTS_DIR": str(outputs),
        "PYTHONUNBUFFERED": "1",
    }
    dagster = PROJECT / ".venv" / "bin" / "dagster"
    if not dagster.exists():
        dagster = Path("dagster")
    log = (tmp_path / "dagster_dev.log").open("wb")
    proc = subprocess.Popen(
        ["bash", "-c", f'set -m; exec "{dagster}" dev -w workspace.yaml -h 127.0.0.1 -p {port}'],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"dagster dev exited with {proc.returncode}:\n{(tmp_path / 'dagster_dev.log').read_text()[-4000:]}"
                )
            try:
                nodes = _graphql(port, REPO_QUERY)["data"]["repositoriesOrError"].get("nodes") or []
                if nodes:
                    break
            except (urllib.error.URLError, ConnectionError, KeyError, TimeoutError, json.JSONDecodeError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    "dagster dev did not load the code location in 240 s:\n"
                    + (tmp_path / "dagster_dev.log").read_text()[-4000:]
                )
            time.sleep(2)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_dagster_ui_materialize_all_publishes_a_release(browser, seed_raw: Path, tmp_path: Path):
    outputs = tmp_path / "outputs"
    ARTIFACTS.mkdir(exist_ok=True)
    with dagster_dev(tmp_path, seed_raw, outputs) as port:
        base = f"http://127.0.0.1:{port}"
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{base}/asset-groups")
        button = page.get_by_role("button", name="Materialize all")
        button.wait_for(state="visible")
        page.screenshot(path=str(ARTIFACTS / "dagster_asset_graph.png"))
        button.click()
        # A run starts (queued, then in progress, then done): wait on the run record, not the UI toast.
        deadline = time.monotonic() + 600
        status = None
        while time.monotonic() < deadline:
            runs = _graphql(port, RUNS_QUERY)["data"]["runsOrError"]["results"]
            if runs:
                status = runs[0]["status"]
                if status in ("SUCCESS", "FAILURE", "CANCELED"):
                    break
            time.sleep(3)
        assert status == "SUCCESS", f"run ended {status}; see {tmp_path / 'dagster_dev.log'}"
        assert len(runs) == 1  # the sensor's first tick only records the folder: no second build
        run_id = runs[0]["runId"]
        latest = read_latest(outputs)
        assert latest, "no LATEST release after a successful run"
        page.goto(f"{base}/runs/{run_id}")
        page.get_by_text("Success", exact=False).first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "dagster_run_success.png"))
        page.goto(f"{base}/assets/release_manifest")
        page.get_by_text(latest).first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "dagster_release_manifest.png"), full_page=True)
        page.goto(f"{base}/assets/events")
        page.get_by_text("Columns").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "dagster_events_asset.png"), full_page=True)

        # Two more builds of the build_release job asked for at once (as the schedule and the sensor
        # would): the instance runs one and queues the other.
        for _ in range(2):
            launched = _graphql(port, LAUNCH_BUILD % _location(port))["data"]["launchRun"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
        seen_queued, most_running = False, 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            statuses = [r["status"] for r in _graphql(port, RUNS_QUERY)["data"]["runsOrError"]["results"]]
            most_running = max(most_running, sum(s in ("STARTING", "STARTED") for s in statuses))
            seen_queued = seen_queued or "QUEUED" in statuses
            if all(s in ("SUCCESS", "FAILURE", "CANCELED") for s in statuses):
                break
            time.sleep(0.5)
        assert statuses == ["SUCCESS"] * 3, statuses
        assert most_running == 1 and seen_queued
        # Unchanged input: the rebuilds publish no new version.
        assert read_latest(outputs) == latest
        page.goto(f"{base}/runs")
        page.get_by_text("build_release").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "dagster_runs.png"))
        page.goto(f"{base}/assets/release_manifest?view=checks")
        page.get_by_text("release_extraction_quality").first.click()
        page.get_by_text("precision").first.wait_for()  # the WARN check's scores are shown
        page.screenshot(path=str(ARTIFACTS / "dagster_release_checks.png"))

    # The run also wrote the download page for the new release.
    assert (outputs / INDEX).is_file()
    assert f'<strong id="latest">{latest}</strong>' in (outputs / INDEX).read_text(encoding="utf-8")
    with serve(outputs) as base_url:
        page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900})
        check_download_page(page, base_url, outputs, "download_page_after_ui_build.png")
