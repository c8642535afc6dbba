"""Errors a user can act on: what failed and what to do, in one line each.

A build that stops on one of these prints ``what`` and ``todo`` as one line (pipeline/cli.py); the
traceback goes to the build's log file, not the terminal. Anything else that escapes a build is
reported the same way with its class and first line, and a pointer to the log.
"""

from __future__ import annotations

import errno


class UserError(Exception):
    """A failure the user can fix (a setting, a folder, the disk), not a defect in the code.

    Deterministic: retrying the same build gives the same error, so nothing retries it."""

    def __init__(self, what: str, todo: str):
        super().__init__(f"{what} -- {todo}")
        self.what = what
        self.todo = todo


def disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is "no space left on device" or a disk quota."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
