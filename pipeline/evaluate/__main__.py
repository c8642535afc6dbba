"""``python -m pipeline.evaluate --gold FILE --outputs DIR [--release VERSION] [--json OUT]``.

Prints the markdown report. Low scores are a result, not a failure: the exit code is 0 whenever a
report could be made, and 2 (with a one-line reason on stderr) when the input cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.evaluate.score import GoldFormatError, ReleaseFormatError, score_release

EXIT_UNUSABLE_INPUT = 2


class UnusableInput(Exception):
    pass


def resolve_release_dir(outputs: Path, release: str | None) -> Path:
    """``outputs/releases/<release>``; without a release, the one named in ``releases/LATEST``."""
    releases = outputs / "releases"
    if not outputs.is_dir():
        raise UnusableInput(f"outputs folder not found: {outputs}")
    if not release:
        latest = releases / "LATEST"
        if not latest.is_file():
            raise UnusableInput(
                f"no release given and {latest} does not exist (run the pipeline first, or pass --release VERSION)"
            )
        release = latest.read_text(encoding="utf-8").strip()
        if not release:
            raise UnusableInput(f"{latest} is empty")
    release_dir = releases / release
    if not release_dir.is_dir():
        known = sorted(p.name for p in releases.iterdir() if p.is_dir()) if releases.is_dir() else []
        raise UnusableInput(
            f"release {release!r} not found in {releases}" + (f" (available: {', '.join(known)})" if known else "")
        )
    return release_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluate", description="Score a Credence release against a gold file."
    )
    parser.add_argument("--gold", required=True, help="gold YAML file (format of examples/gold/seed_events.yaml)")
    parser.add_argument("--outputs", required=True, help="outputs folder holding releases/")
    parser.add_argument("--release", default=None, help="release version (default: the one in releases/LATEST)")
    parser.add_argument("--json", dest="json_out", default=None, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    try:
        if not args.gold.strip():
            raise UnusableInput("no gold file given (make evaluate GOLD=path/to/gold.yaml)")
        gold = Path(args.gold)
        if not gold.is_file():
            raise UnusableInput(f"gold file not found: {gold}")
        release_dir = resolve_release_dir(Path(args.outputs), args.release)
        report = score_release(release_dir, gold)
    except (UnusableInput, GoldFormatError, ReleaseFormatError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    sys.stdout.write(report.to_markdown())
    if args.json_out:
        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
