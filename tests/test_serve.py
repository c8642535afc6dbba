"""Item 10 of issue 18: `make serve` served the whole outputs folder, .work/ (full article texts)
and .cache/ included. It serves the download page and the published releases only."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A seeds build's outputs folder (with .work, .cache and a leftover temporary beside the
    release), served by `make serve`'s command on a free local port."""
    import shutil

    from tests.conftest import SEEDS
    from tests.test_pipeline_e2e import build

    root = tmp_path_factory.mktemp("serve")
    raw, out = root / "raw", root / "outputs"
    shutil.copytree(SEEDS, raw)
    assert build(raw, out).success
    (out / "releases" / ".tmp-2099.01.01-abcdef12-1").mkdir()
    (out / "releases" / ".tmp-2099.01.01-abcdef12-1" / "events.csv").write_text("half")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    make = subprocess.run(["make", "-n", "serve", f"OUT={out}"], cwd=PROJECT, capture_output=True, text=True)
    command = next(line for line in make.stdout.splitlines() if "-m pipeline.serve" in line)
    argv = command.replace("8000", str(port)).split()
    argv[0] = sys.executable if argv[0].endswith("python") else argv[0]
    argv = [a.strip('"') for a in argv]
    proc = subprocess.Popen(argv, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    yield out, f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def test_the_page_and_every_published_file_are_served(served):
    out, base = served
    assert status(base + "/") == 200
    page = urllib.request.urlopen(base + "/index.html", timeout=10).read().decode()
    links = set(re.findall(r'(?:href|src)="([^"#:]+)"', page))
    assert any(link.startswith("releases/") for link in links)
    for link in links:
        assert status(f"{base}/{link}") == 200, link
    version = (out / "releases" / "LATEST").read_text().strip()
    assert status(f"{base}/releases/LATEST") == 200
    assert status(f"{base}/releases/{version}/SHA256SUMS") == 200


def test_work_cache_locks_and_unpublished_folders_are_not_served(served):
    out, base = served
    secret = [f"/.work/{p.name}" for p in (out / ".work").glob("*.parquet")]
    assert "/.work/articles.parquet" in secret  # full article texts
    secret += [f"/.cache/{p.relative_to(out / '.cache').as_posix()}" for p in (out / ".cache").rglob("*.parquet")]
    secret += ["/.work/", "/.cache/", "/releases/", "/releases/.release.lock", "/.build.lock"]
    secret += ["/releases/.tmp-2099.01.01-abcdef12-1/events.csv", "/releases/../.work/articles.parquet"]
    secret += ["/%2e%2e/etc/passwd", "/releases/%2e%2e/.work/articles.parquet"]
    for path in secret:
        assert status(base + path) == 404, path
