"""Bounded work per article: extraction of one article cannot stall a build.

A text without full stops is one enormous "sentence": the pattern extractor this replaced took
3.2 s on 40,000 characters, 13 s on 80,000, and would have taken about two hours on a 1.9 MB text
inside every ingest limit; a parser's memory and time grow with a sentence's length too. Two
guards sit around each article, whatever the coder inside does:

- **Sentence cap** (deterministic): an article with a sentence longer than MAX_SENTENCE_CHARS (by
  the shared splitter, pipeline/text/sentences.py) is not extracted. The longest sentence in the
  33,692 Tehran Times articles has 5,839 characters (99.9th percentile: 1,268); 20,000 is 3.4x that.
  (Inside an article, the coder leaves sentences above extractor.MAX_SENTENCE_CHARS, 1,500, unparsed:
  186 of the corpus's 676,013.)
- **Time budget** (a backstop for anything the cap does not bound, such as many long sentences):
  ``BUDGET_BASE_S`` plus ``BUDGET_PER_MCHAR_S`` per million characters of text. Coding the slowest
  real article takes well under a second, so the budget is many times what real text needs
  and does not make a release depend on the machine's load; it is enforced with SIGALRM where
  extraction runs on a process's main thread (the build and its worker processes do), and not
  at all elsewhere.

The extractor (pipeline/extract/extractor.py) applies both: the cap when it finds an article's
candidate sentences, the time budget around the coding of each article.

An article over either becomes one quarantine row (stage ``extract``, reason ``extraction_budget``)
and the build goes on with the others. The extraction cache remembers it like an extracted article
(its row is kept with the mentions), so a rebuild neither retries it nor depends on the timing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl

from pipeline.text.sentences import split_sentences

MAX_SENTENCE_CHARS = 20_000
BUDGET_BASE_S = 30.0
BUDGET_PER_MCHAR_S = 100.0
REASON_CODE = "extraction_budget"
SKIPPED = {"article_id": pl.String, "reason": pl.String, "detail": pl.String}


class BudgetExceeded(Exception):
    pass


def article_budget_s(text: str) -> float:
    return BUDGET_BASE_S + BUDGET_PER_MCHAR_S * len(text) / 1_000_000


def longest_sentence(text: str) -> tuple[int, int, int]:
    """(length, start, end) of the longest sentence of ``text`` (0, 0, 0 for no sentence)."""
    best = (0, 0, 0)
    for start, end in split_sentences(text):
        if end - start > best[0]:
            best = (end - start, start, end)
    return best


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise BudgetExceeded in the block once ``seconds`` have passed (main thread only; elsewhere
    the block runs unbounded)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise BudgetExceeded

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def too_long_row(article_id: str, length: int, start: int, end: int) -> dict:
    """The SKIPPED row of an article with a sentence above MAX_SENTENCE_CHARS."""
    return {
        "article_id": article_id,
        "reason": f"not extracted: a sentence of {length:,} characters, above the limit of "
        f"{MAX_SENTENCE_CHARS:,} (a text without full stops: a table, a list or a run-on page)",
        "detail": f"sentence at characters [{start}, {end}); max_sentence_chars={MAX_SENTENCE_CHARS}",
    }


def over_time_row(article_id: str, chars: int, budget: float, elapsed: float) -> dict:
    """The SKIPPED row of an article whose coding ran past its time budget."""
    return {
        "article_id": article_id,
        "reason": f"not extracted: extraction ran past its time budget of {budget:.0f} s",
        "detail": f"{chars:,} characters; stopped after {elapsed:.1f} s",
    }
