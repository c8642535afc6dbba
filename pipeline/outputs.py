"""The outputs folder as a whole: one build at a time, where it may be, and what dead builds left.

**One build at a time.** :func:`build_lock` is held for a whole build (every step, from reading the
raw folder to publishing), not only while publishing: the steps hand their tables to each other
through ``<outputs>/.work/``, so two builds that overlapped on one outputs folder once published a
checksum-valid release holding 5 articles of one corpus and 765 events of another. A build that
finds the lock taken says whose it is (pid, raw folder, start time) and waits. The lock is an
``flock`` (filelock), so the kernel releases it when its holder dies, however it dies.

**Where it may be.** An outputs folder inside the raw folder would be read back as input on every
build (its download page became an article, and every build published a new version):
:func:`check_folders` refuses it before anything is read.

**What dead builds left.** Every file a build replaces is first written under a temporary name
that carries the writer's pid (pipeline.storage); a build killed, or stopped by a full disk,
leaves them behind. :func:`sweep_dead_temporaries`, run under the build lock when a build starts,
removes those of dead writers everywhere a build writes (the outputs folder itself, ``releases/``,
``.work/``, ``.cache/``), so the space they hold comes back before the build needs it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.errors import UserError
from pipeline.storage import pid_alive, remove_dead_temporaries, write_text_atomic

BUILD_LOCK = ".build.lock"
BUILD_OWNER = ".build.owner"  # who holds the lock (JSON), for the message of a build that waits
# A build waits this long for another one: a full build of the 33k-article corpus takes about a
# minute, so an hour means the other build hangs (its pid is in the message).
LOCK_WAIT_S = 3600
# Release folders being written are named .tmp-<version>-<random>-<pid> (pipeline/release/publish.py).
RELEASE_TMP_PREFIX = ".tmp-"

# Outputs folders whose lock this process holds, with the depth: a build's resources are set up
# more than once in one process (the settings resource, and again inside the IO manager), and the
# command line takes the lock before the run starts. A second flock on the same file from the same
# process would wait for itself.
_HELD: dict[Path, int] = {}


def _describe(owner: dict) -> str:
    if not owner:
        return "no details recorded"
    return (
        f"pid {owner.get('pid')} on {owner.get('host')}, raw folder {owner.get('raw_dir')}, "
        f"started {owner.get('started')}"
    )


def lock_owner(outputs: Path) -> dict:
    """What the build holding the lock wrote about itself ({} when nothing readable is there)."""
    try:
        return json.loads((Path(outputs) / BUILD_OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextmanager
def build_lock(
    outputs: Path,
    raw_dir: Path | str,
    *,
    say: Callable[[str], None] = print,
    timeout: float = LOCK_WAIT_S,
) -> Iterator[None]:
    """Hold ``<outputs>/.build.lock`` for the block; wait (saying so through ``say``) while another
    build holds it. Re-entrant within a process. Raises UserError when the wait passes ``timeout``."""
    outputs = Path(os.path.realpath(outputs))
    if outputs in _HELD:
        _HELD[outputs] += 1
        try:
            yield
        finally:
            _HELD[outputs] -= 1
        return
    outputs.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(outputs / BUILD_LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        owner = lock_owner(outputs)
        say(f"waiting for another build on {outputs} to finish ({_describe(owner)})")
        started = time.monotonic()
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise UserError(
                f"another build on {outputs} ({_describe(lock_owner(outputs))}) still runs after {timeout:.0f} s",
                "wait for it to finish, or stop it if it hangs (kill <pid>), then build again",
            ) from None
        say(f"the other build on {outputs} is done; this one starts (waited {time.monotonic() - started:.0f} s)")
    try:
        write_text_atomic(
            outputs / BUILD_OWNER,
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "raw_dir": str(raw_dir),
                    "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
            ),
            durable=False,
        )
        _HELD[outputs] = 1
        sweep_dead_temporaries(outputs)
        yield
    finally:
        _HELD.pop(outputs, None)
        (outputs / BUILD_OWNER).unlink(missing_ok=True)
        lock.release()


def holds_build_lock(outputs: Path) -> bool:
    return Path(os.path.realpath(outputs)) in _HELD


def check_folders(raw_dir: Path | str, outputs: Path | str, *, need_raw: bool = True) -> None:
    """Refuse an outputs folder that is the raw folder or inside it (it would be read as input),
    and with ``need_raw`` a raw folder that is not there (a mistyped RAW=, a share not mounted)."""
    raw = Path(os.path.realpath(raw_dir))
    out = Path(os.path.realpath(outputs))
    if need_raw and not raw.is_dir():
        raise UserError(
            f"the raw folder {raw_dir} does not exist or is not a folder",
            "build from an existing folder (make run RAW=<folder>, or CREDENCE_RAW_DIR); if it is a share, mount it",
        )
    if out == raw or out.is_relative_to(raw):
        raise UserError(
            f"the outputs folder {out} is inside the raw folder {raw}: every build would read its own "
            "releases and download page back as articles",
            "choose an outputs folder outside the raw folder (make run OUT=<folder>, or CREDENCE_OUTPUTS_DIR)",
        )


def sweep_dead_temporaries(outputs: Path) -> list[str]:
    """Remove what killed or failed builds left everywhere a build writes: temporaries of dead
    writers (pipeline.storage) in the outputs folder, ``releases/``, ``.work/`` and ``.cache/``
    (every level), and release folders being written by a dead process. Returns what went."""
    outputs = Path(outputs)
    removed: list[str] = []
    folders = [outputs, outputs / "releases"]
    for sub in (".work", ".cache"):
        base = outputs / sub
        if base.is_dir():
            folders += [base, *(p for p in base.rglob("*") if p.is_dir())]
    for folder in folders:
        if folder.is_dir():
            removed += [str(p.relative_to(outputs)) for p in remove_dead_temporaries(folder)]
    releases = outputs / "releases"
    if releases.is_dir():
        for p in releases.iterdir():
            if p.name.startswith(RELEASE_TMP_PREFIX) and p.is_dir():
                pid = p.name.rsplit("-", 1)[-1]
                if not pid.isdigit() or not pid_alive(int(pid)):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(str(p.relative_to(outputs)))
    return removed
