"""Score a release only where a gold file can judge it: the articles the gold covers.

A gold file codes the events of some articles (the files its events list in ``mentions``). Scoring
every event of a release against it counts every event of every other article as wrong: the quality
check did that, and on the Tehran Times bundle (33,692 articles) against the seeds' gold (five
articles) it reported precision 0.0001; one unrelated article added to the seeds flipped it to
failing (issue 17). Here the release is first cut to the covered articles:

- the **scored articles** are the release's articles one of whose names (its ``source_file``, or a
  copy quarantined as its duplicate) is a gold mention file;
- the **scored mentions** are the mentions of those articles, the **scored events** the events
  holding at least one of them (an event that merges a covered article with another is judged: its
  covered part is what the gold speaks about);
- the **scored gold events** are those told in at least one scored article, each reduced to the
  files this release has (a gold event whose files are all absent cannot be found here and is left
  out of recall; the report lists those files).

Several gold files may be configured (``CREDENCE_GOLD_FILE`` with paths joined by ``os.pathsep``);
their events are pooled, ids prefixed with the file's stem so they stay apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from pipeline.evaluate.gold import GoldEvent, GoldFormatError, load_gold
from pipeline.evaluate.score import (
    EvalReport,
    _article_names,
    _gold_article_names,
    file_matches,
    read_release_tables,
    score_tables,
)
from schemas.codebook import Codebook, load_codebook


def gold_paths(setting: str) -> list[Path]:
    """The gold files of a setting: paths joined by ``os.pathsep`` (':' here); blanks ignored."""
    return [Path(p.strip()) for p in setting.split(os.pathsep) if p.strip()]


def load_golds(paths: list[Path], codebook: Codebook | None = None) -> list[GoldEvent]:
    """Every gold event of the files, ids prefixed with the file's stem when there are several."""
    if not paths:
        raise GoldFormatError("no gold file given")
    codebook = codebook or load_codebook()
    events: list[GoldEvent] = []
    for path in paths:
        if not path.is_file():
            raise GoldFormatError(f"gold file not found: {path}")
        loaded = load_gold(path, codebook)
        events += loaded if len(paths) == 1 else [replace(g, id=f"{path.stem}:{g.id}") for g in loaded]
    return events


@dataclass
class CoveredScore:
    """What was scored, and the report on it (None when the gold covers no article of the release)."""

    gold_files: list[str]
    release: str
    report: EvalReport | None
    scored_files: list[str] = field(default_factory=list)  # source files of the scored articles
    absent_files: list[str] = field(default_factory=list)  # gold mention files this release lacks
    n_articles: int = 0
    n_events: int = 0
    n_mentions: int = 0
    n_events_scored: int = 0
    n_mentions_scored: int = 0
    n_gold: int = 0
    n_gold_scored: int = 0

    def describe(self) -> str:
        """One paragraph: what was scored out of what."""
        if not self.scored_files:
            return (
                f"The gold file(s) cover none of the {self.n_articles} articles of release {self.release}: "
                "nothing was scored, so this release's quality is not measured here (the data card gives "
                "the figures measured on the development sets)."
            )
        return (
            f"Scored {len(self.scored_files)} of the release's {self.n_articles} articles (those the gold "
            f"file(s) cover), {self.n_events_scored} of its {self.n_events} events and {self.n_mentions_scored} "
            f"of its {self.n_mentions} mentions, against {self.n_gold_scored} of the gold's {self.n_gold} "
            "events (those told in a scored article)."
            + (
                f" Gold files absent from this release, not scored: {', '.join(self.absent_files)}."
                if self.absent_files
                else ""
            )
        )


def score_covered(release_dir: str | Path, paths: list[Path], *, codebook: Codebook | None = None) -> CoveredScore:
    """Score the release in ``release_dir`` on the articles the gold files cover (module docstring)."""
    codebook = codebook or load_codebook()
    gold = load_golds(paths, codebook)
    release_dir = Path(release_dir)
    t = read_release_tables(release_dir, scored_columns_only=True)
    events, mentions, articles, quarantine = t["events"], t["mentions"], t["articles"], t["quarantine"]
    assert events is not None and mentions is not None and articles is not None
    names_of = _gold_article_names(articles, quarantine, gold)
    present = {n for names in _article_names(articles, quarantine, names_of).values() for n in names}
    gold_names = sorted({n for g in gold for n in g.mentions})
    absent = [n for n in gold_names if not any(file_matches(f, n) for f in present)]
    out = CoveredScore(
        gold_files=[str(p) for p in paths],
        release=release_dir.name,
        report=None,
        absent_files=absent,
        n_articles=articles.height,
        n_events=events.height,
        n_mentions=mentions.height,
        n_gold=len(gold),
    )
    if not names_of:
        return out
    ids = pl.Series(sorted(names_of), dtype=pl.String).implode()
    scored_mentions = mentions.filter(pl.col("article_id").is_in(ids))
    scored_events = events.filter(pl.col("article_ids").list.eval(pl.element().is_in(ids)).list.any())
    scored_gold = []
    for g in gold:
        here = tuple(m for m in g.mentions if m not in absent)
        if here:
            scored_gold.append(g if here == g.mentions else replace(g, mentions=here))
    out.report = score_tables(
        scored_events,
        scored_mentions,
        articles,
        scored_gold,
        quarantine=quarantine,
        codebook=codebook,
        release=release_dir.name,
        gold_source=", ".join(str(p) for p in paths),
    )
    out.scored_files = sorted(
        articles.filter(pl.col("article_id").is_in(ids))["source_file"].to_list(),
    )
    out.n_events_scored, out.n_mentions_scored = scored_events.height, scored_mentions.height
    out.n_gold_scored = len(scored_gold)
    return out
