"""`make serve`: the download page and the published releases on http://127.0.0.1:8000, nothing else.

``python -m http.server --directory outputs`` served the whole outputs folder: ``.work/`` (every
article's full text, which releases deliberately do not redistribute), ``.cache/``, lock files and
half-written release folders. This server answers only for what is published:

- ``/`` and ``/index.html`` (the download page) and the page's own files under ``/site/``;
- ``/releases/LATEST`` and the files of each published release folder, ``/releases/<version>/<file>``
  (a folder counts once its manifest is there: pipeline.releases.list_versions).

Anything else, hidden names and symlinks that lead elsewhere included, is 404.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import posixpath
import signal
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipeline.releases import LATEST, list_versions

PAGE_FILES = {"", "index.html"}
SITE_DIR = "site"


def published_path(outputs: Path, url_path: str) -> Path | None:
    """The file ``url_path`` names when it is published, else None."""
    outputs = Path(outputs).resolve()
    path = posixpath.normpath(unquote(urlsplit(url_path).path))
    parts = [p for p in path.split("/") if p]
    if any(p.startswith(".") for p in parts):
        return None
    if len(parts) <= 1 and (parts[0] if parts else "") in PAGE_FILES:
        target = outputs / "index.html"
    elif len(parts) == 2 and parts[0] == SITE_DIR:
        target = outputs / SITE_DIR / parts[1]
    elif parts == ["releases", LATEST]:
        target = outputs / "releases" / LATEST
    elif len(parts) == 3 and parts[0] == "releases" and parts[1] in list_versions(outputs):
        target = outputs / "releases" / parts[1] / parts[2]
    else:
        return None
    try:
        real = target.resolve(strict=True)
    except OSError:
        return None
    # The file must be where its name says (a symlink out of the folder is not published).
    if real != target.absolute() and real.parent != target.parent.resolve():
        return None
    return real if real.is_file() else None


class PublishedHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from the outputs folder only when published_path allows them."""

    def __init__(self, *args, outputs: Path, **kwargs):
        self.outputs = Path(outputs)
        super().__init__(*args, directory=str(outputs), **kwargs)

    def send_head(self):
        target = published_path(self.outputs, self.path)
        if target is None:
            self.send_error(404, "Not published")
            return None
        self.path = "/" + os.path.relpath(target, self.outputs.resolve()).replace(os.sep, "/")
        return super().send_head()

    def list_directory(self, path):  # never list a folder
        self.send_error(404, "Not published")
        return None


def serve(outputs: Path, host: str = "127.0.0.1", port: int = 8000) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(PublishedHandler, outputs=Path(outputs))
    return http.server.ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.serve", description=__doc__.splitlines()[0])
    parser.add_argument("outputs", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if not (args.outputs / "index.html").is_file():
        print(f"no download page in {args.outputs}: build a release first (make run)", file=sys.stderr)
        return 1
    # Stoppable with SIGTERM even when started by a process that ignores it (children inherit that).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    server = serve(args.outputs, args.host, args.port)
    print(f"serving the download page and published releases of {args.outputs} on http://{args.host}:{args.port}/")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
