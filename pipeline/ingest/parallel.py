"""Publication-date inference over two processes when there are many texts to date.

Inference is the largest part of a cold ingest (about 8 of 14 s on the 33k-article corpus) and is
pure Python per text, so threads cannot share it; a second process can. A spawned worker (not
forked: a child forked after polars has run hangs on its first polars call, see
pipeline/extract/cache.py) takes the tail of the list while this process dates the head, and the
results are put back in order, so the output is the same as dating every text here. Below
PARALLEL_MIN_TEXTS the worker's start-up (~1 s: interpreter, imports, gazetteer) costs more than it
saves, and an incremental build dates a handful of texts at most.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from pipeline import progress
from pipeline.text.dates import infer_publication_date

PARALLEL_MIN_TEXTS = 4000
# The worker starts about a second late, so it takes a little less than half.
WORKER_SHARE = 0.45

Result = tuple  # (published_at, basis, published_after)


def infer_dates(
    texts: Sequence[str],
    years: Sequence[Sequence[str]],
    weekdays: Sequence[bool],
    hints: Callable[[str], Sequence] | None,
    workers: int,
) -> list[Result]:
    """infer_publication_date for each text (with its year tokens, weekday flag and the hints the
    ``hints`` function gives for it), in order."""
    n = len(texts)
    progress.phase("dating publication", total=n, unit="texts")
    if workers <= 1 or n < PARALLEL_MIN_TEXTS:
        return _date_all(list(texts), list(years), list(weekdays), hints)
    cut = n - int(n * WORKER_SHARE)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        tail = pool.submit(_date_all, list(texts[cut:]), list(years[cut:]), list(weekdays[cut:]), hints)
        # The worker dates the tail alongside: each text dated here stands for n / cut of the whole.
        head = _date_all(list(texts[:cut]), list(years[:cut]), list(weekdays[:cut]), hints, per_text=n / cut)
        return head + tail.result()


def _date_all(
    texts: list[str], years: list, weekdays: list, hints: Callable[[str], Sequence] | None, per_text: float = 1.0
) -> list[Result]:
    out = []
    reporter = progress.current()
    for text, y, w in zip(texts, years, weekdays):
        reporter.count += per_text
        pub = infer_publication_date(text, _lazy(hints, text) if hints is not None else (), years=y, has_weekday=w)
        out.append((pub.published_at, pub.basis, pub.published_after))
    return out


def _lazy(hints: Callable[[str], Sequence], text: str):
    """The hints, computed only if infer_publication_date gets to them (it returns early for a
    text stating its date; the first call of the dictionary-driven hints loads the gazetteer)."""
    yield from hints(text)
