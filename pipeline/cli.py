"""Command line: `python -m pipeline.cli build` runs the build_release job in the persistent
Dagster instance of the outputs folder (DAGSTER_HOME, else ``pipeline.settings.dagster_home_for``),
so command-line runs show up in the UI like any other run, and a build into another outputs folder
never shows up in the default folder's UI.

What the terminal shows: one line per step as it runs, and at the end one line: the release
published (or unchanged), or what failed and what to do. Everything Dagster logs, tracebacks
included, goes to a log file (``$DAGSTER_HOME/logs/build-<time>-<pid>.log``) that the last line
names; the run is also in the UI. Before anything runs the build takes the outputs folder's
build lock (pipeline/outputs.py): a second build on the same folder says whose build it waits for.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import io
import logging
import os
import re
import sys
from pathlib import Path

from pipeline.errors import UserError
from pipeline.instance_home import InstanceOutputsMismatch, ensure_home

ALLOW_SHRINK_ENV = "CREDENCE_ALLOW_SHRINK"
# Dagster's messages that only repeat a failure already reported (each later step "not executed",
# the run's failure): about 10 lines after one failed step, kept for the log.
_FOLLOW_ON = re.compile(r" - (?:Dependencies for step \S+ (?:failed|were not executed)|\d+ - RUN_FAILURE - )")


class _Terminal(io.TextIOBase):
    """stderr during a build: everything to the log file, and the first line of each message to
    the terminal (Dagster's console logger writes one message per call; a step failure's message
    carries the whole traceback after its first line)."""

    def __init__(self, terminal, log):
        self.terminal, self.log = terminal, log

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if self.log is not None:
            self.log.write(s)
        if _FOLLOW_ON.search(s):
            return len(s)  # the consequences of a failure, one line per later step: the log has them
        head, sep, rest = s.partition("\n")
        self.terminal.write(head + sep if rest.strip() else s)
        return len(s)

    def flush(self) -> None:
        self.terminal.flush()
        if self.log is not None:
            self.log.flush()


def _open_log(home: Path):
    """The build's log file, or None when it cannot be created (a full disk): the terminal then
    gets everything."""
    folder = home / "logs"
    name = f"build-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}-{os.getpid()}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return (folder / name).open("w", encoding="utf-8", buffering=1)
    except OSError:
        return None


def _errors(info):
    """An error info and everything that caused it (Dagster wraps an op's exception)."""
    seen = 0
    while info is not None and seen < 20:
        yield info
        info = info.cause or info.context
        seen += 1


def _user_error(info) -> tuple[str, str] | None:
    for e in _errors(info):
        if e.cls_name == "UserError":
            text = (
                e.message.split(": ", 1)[-1].strip() if e.message.startswith(("pipeline.", "UserError")) else e.message
            )
            what, _, todo = text.partition(" -- ")
            return what.strip(), todo.strip()
    return None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def failure_line(result, outputs: Path) -> str:
    """What failed and what to do, in one line, from the failed run's events."""
    failures = []
    for event in result.all_events:
        data = event.event_specific_data
        error = getattr(data, "error", None)
        if error is not None and (event.is_step_failure or event.is_failure or event.is_resource_init_failure):
            failures.append((event.step_key or "the run", error))
    for step, error in failures:
        user = _user_error(error)
        if user is not None:
            return f"build failed in {step}: {user[0]} -- {user[1]}"
    for step, error in failures:
        for e in _errors(error):
            if e.cls_name in ("OSError", "IOError") and re.search(r"\[Errno (28|122)\]", e.message):
                return (
                    f"build failed in {step}: the disk is full ({_first_line(e.message)}) -- free space on the "
                    f"disk of {outputs} (df -h), then build again: it removes what this build left"
                )
    for step, error in failures:
        for e in _errors(error):
            if e.cls_name == "DagsterAssetCheckFailedError":
                return (
                    f"build stopped in {step}: {_first_line(e.message)} -- nothing was published; the check's "
                    "findings are in the log and in the UI (make ui)"
                )
    if failures:
        step, error = failures[0]
        inner = list(_errors(error))[-1]
        message = _first_line(inner.message).removeprefix(f"{inner.cls_name}: ")
        return (
            f"build failed in {step}: {inner.cls_name}: {message} -- an unexpected error "
            "(a bug, or input the build does not handle): the traceback is in the log; please report it"
        )
    return "build failed -- the log and the run in the UI (make ui) say where"


def build(allow_shrink: bool = False) -> int:
    from pipeline.settings import default_outputs_dir

    try:
        home = ensure_home(outputs=default_outputs_dir())
    except InstanceOutputsMismatch as err:
        print(f"build refused: {err}", file=sys.stderr)
        return 2
    os.environ["DAGSTER_HOME"] = str(home)
    if allow_shrink:
        os.environ[ALLOW_SHRINK_ENV] = "1"
    from pipeline.outputs import build_lock, check_folders
    from pipeline.settings import default_raw_dir

    raw, outputs = Path(default_raw_dir()).resolve(), Path(default_outputs_dir()).resolve()
    log = _open_log(home)
    terminal = sys.stderr
    sys.stderr = _Terminal(terminal, log)
    try:
        check_folders(raw, outputs)
        with build_lock(outputs, raw, say=lambda m: print(m, file=terminal, flush=True)):
            return _run(outputs, log)
    except UserError as err:
        print(f"build failed: {err.what} -- {err.todo}", file=terminal)
        return 1
    finally:
        sys.stderr = terminal
        if log is not None:
            print(f"log: {log.name}", file=terminal)
            log.close()


def _run(outputs: Path, log) -> int:
    import dagster as dg

    from pipeline.definitions import defs

    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("build_release").execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        if not result.success:
            line = failure_line(result, outputs)
            print(line, file=sys.stderr.terminal if isinstance(sys.stderr, _Terminal) else sys.stderr)
            if log is not None:
                log.write(line + "\n")
            return 1
        from pipeline.releases import read_latest, releases_dir

        version = read_latest(outputs)
        published = [
            m
            for m in result.get_asset_materialization_events()
            if m.asset_key is not None and m.asset_key.to_user_string() == "release_manifest"
        ]
        new = published and published[0].materialization.metadata["published_new_version"].value
        print(
            f"release {version} {'published' if new else 'unchanged (no new version)'}: "
            f"{releases_dir(outputs) / str(version)}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="credence")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a release from the raw folder into the outputs folder")
    b.add_argument(
        "--allow-shrink",
        action="store_true",
        help="publish even when the new release drops most of the previous one's articles "
        f"(also: {ALLOW_SHRINK_ENV}=1)",
    )
    args = parser.parse_args(argv)
    if args.command == "build":
        return build(allow_shrink=args.allow_shrink)
    return 2


def exit_now(code: int) -> None:
    """Leave without the interpreter's teardown. When a build returns, its work is done and durable
    (the release is fsynced and renamed, the instance closed); tearing down the few hundred
    thousand objects that Dagster, polars and pandera leave behind took 1.1 s of every build's
    wall time. Output is flushed and the atexit handlers run first, as a normal exit would."""
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
