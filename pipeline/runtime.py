"""Process-wide helpers shared by the stages."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (reference counting still frees everything acyclic).

    In a Dagster run the heap holds hundreds of thousands of long-lived objects; code that
    allocates many small ones (the chart's artists, score rows) triggers collections that walk
    them all, which profiles showed costing more than the work itself. Restores the previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
