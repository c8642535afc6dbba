"""``make explore``: serve a release's ``credence.sqlite`` with Datasette on 127.0.0.1.

``python -m pipeline.release.explore [--outputs DIR] [--release VERSION] [--port N] [--print]``

The release is LATEST's unless ``--release`` names another. Datasette opens the database immutable
(``-i``: read only, row counts computed once) with the release's ``datasette.json`` (descriptions,
facets, canned queries; pipeline/release/explorer.py). ``--print`` prints the command instead of
running it (the browser test starts it itself on a free port).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.release.explorer import METADATA, SQLITE
from pipeline.releases import list_versions, read_latest, releases_dir
from pipeline.settings import default_outputs_dir, explorer_port


class NoExplorer(Exception):
    """Nothing to serve (the message says why and what to run)."""


def release_folder(outputs: Path, release: str | None) -> Path:
    if release is None:
        release = read_latest(outputs)
        if release is None:
            raise NoExplorer(f"no release in {outputs} yet: build one with `make run` first")
    folder = releases_dir(outputs) / release
    if release not in list_versions(outputs):
        raise NoExplorer(f"release {release} not found in {releases_dir(outputs)}")
    if not (folder / SQLITE).is_file():
        raise NoExplorer(
            f"release {release} has no {SQLITE} (it was published before the explorer existed): "
            "rebuild with `make run` after a change to the inputs, or pass --release with a newer one"
        )
    return folder


def datasette_command(folder: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    cmd = [sys.executable, "-m", "datasette", "serve", "-i", str(folder / SQLITE), "-h", host, "-p", str(port)]
    if (folder / METADATA).is_file():
        cmd += ["-m", str(folder / METADATA)]
    # Facets over the whole events table of a large release take longer than Datasette's 200 ms
    # default; a canned query over mentions and articles likewise.
    cmd += ["--setting", "facet_time_limit_ms", "2000", "--setting", "sql_time_limit_ms", "5000"]
    return cmd


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.release.explore", description=__doc__.split("\n")[0])
    parser.add_argument("--outputs", default=default_outputs_dir(), help="outputs folder holding releases/")
    parser.add_argument("--release", default=None, help="release version (default: LATEST)")
    parser.add_argument("--port", type=int, default=explorer_port(), help="port on 127.0.0.1 (default 8001)")
    parser.add_argument("--print", dest="print_only", action="store_true", help="print the command, do not run it")
    args = parser.parse_args(argv)
    try:
        folder = release_folder(Path(args.outputs).resolve(), args.release)
    except NoExplorer as err:
        print(f"explore: {err}", file=sys.stderr)
        return 2
    cmd = datasette_command(folder, args.port)
    if args.print_only:
        print(" ".join(cmd))
        return 0
    print(f"explorer of release {folder.name}: http://127.0.0.1:{args.port}/credence (Ctrl-C stops it)", flush=True)
    os.execv(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
