"""``make quality``: build every development set through the pipeline, score each part, print one table.

``python -m pipeline.evaluate.quality [--config examples/gold/quality.yaml] [--record] [--no-build]``

Each set in the config (``examples/gold/quality.yaml``) is built from its raw folder with the
ordinary build (``python -m pipeline.cli build``) into ``.quality/<set>/``, with its own Dagster
instance in ``.quality/dagster/<set>/`` so it never changes what ``make ui`` shows for the default
corpus. The newest release of each set is scored against the set's gold (``score.py``), as a whole
and per part: the ``check`` part is held out, the rest is ``tune``; a part holds the predictions from
its articles and the gold events told in them (an event told in both parts is scored in each on its
own articles). The output ends with the compact summary (the last
``SUMMARY_LINES`` lines: one line per set and part, and all sets together); the per-type tables come
before it. Every figure goes to ``.quality/report.json`` with the date and the code version; with
``--record`` also to ``examples/gold/quality.json`` (the data card's source, committed by a person).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from pipeline.evaluate.gold import GoldEvent, GoldFormatError, load_gold
from pipeline.evaluate.measures import confidence_auc, f1, ratio
from pipeline.evaluate.score import (
    EVENT_RULE,
    MENTION_RULE,
    MODALITY_RULE,
    EvalReport,
    ReleaseFormatError,
    file_matches,
    read_release_tables,
    score_tables,
)
from pipeline.settings import PROJECT_ROOT

DEFAULT_CONFIG = PROJECT_ROOT / "examples" / "gold" / "quality.yaml"
RECORD_FILE = PROJECT_ROOT / "examples" / "gold" / "quality.json"
WORK_DIR = PROJECT_ROOT / ".quality"
# The hook that runs this keeps the last 25 lines (`make -s quality | tail -25`): the summary is
# exactly that long, so it is what the hook shows, whole.
SUMMARY_LINES = 25
PARTS = ("tune", "check")
AUC_RULE = "confidence AUC: the probability that a right row scores above a wrong one (ties count half)"


class QualityConfigError(ValueError):
    """The quality config, a gold file or a raw folder cannot be used as written (the message says why)."""


# --------------------------------------------------------------------------------------------
# The sets and their split
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    level: str  # mention | event
    precision: float | None = None
    recall: float | None = None
    auc: float | None = None
    date_errors: int | None = None

    def describe(self) -> str:
        bars = [
            f"P>={self.precision:.2f}" if self.precision is not None else "",
            f"R>={self.recall:.2f}" if self.recall is not None else "",
            f"AUC>={self.auc:.2f}" if self.auc is not None else "",
            f"date errors<={self.date_errors}" if self.date_errors is not None else "",
        ]
        return f"{self.level} " + " ".join(b for b in bars if b)


@dataclass(frozen=True)
class QualitySet:
    name: str
    gold: Path
    raw: Path
    check_rule: str | None = None
    check_files: frozenset[str] | None = None
    check_pattern: str | None = None
    check_multiple_of: int | None = None
    target: Target | None = None

    @property
    def split(self) -> bool:
        return self.check_rule is not None

    def part_of(self, file_name: str) -> str:
        """'check' or 'tune' for a file of the raw folder (its path relative to the folder)."""
        if not self.split:
            return "all"
        base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
        if self.check_files is not None:
            return "check" if base in self.check_files else "tune"
        found = re.match(self.check_pattern or "", base)
        if not found or not found.groups():
            raise QualityConfigError(
                f"set {self.name}: file {file_name!r} does not match the check part's "
                f"file_pattern {self.check_pattern!r}, so its part is unknown"
            )
        return "check" if int(found.group(1)) % (self.check_multiple_of or 1) == 0 else "tune"


def _raw_files(raw: Path) -> list[str]:
    """The text inputs of a raw folder, relative to it (what ``articles.source_file`` holds)."""
    return sorted(
        p.relative_to(raw).as_posix()
        for p in raw.rglob("*")
        if p.is_file() and p.suffix.lower() in {".txt", ".text", ".html", ".htm", ".xhtml"}
    )


def _target(raw: Any, where: str) -> Target | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("level") not in ("mention", "event"):
        raise QualityConfigError(f"{where}: targets need level: mention or event, got {raw!r}")
    unknown = set(raw) - {"level", "precision", "recall", "auc", "date_errors"}
    if unknown:
        raise QualityConfigError(f"{where}: unknown target field(s) {', '.join(sorted(unknown))}")
    return Target(
        level=raw["level"],
        precision=raw.get("precision"),
        recall=raw.get("recall"),
        auc=raw.get("auc"),
        date_errors=raw.get("date_errors"),
    )


def load_config(path: str | Path = DEFAULT_CONFIG) -> list[QualitySet]:
    """The sets of a quality config, checked: files exist, every gold mention is a file of the raw
    folder, the check part names files of it and leaves neither part empty."""
    path = Path(path)
    if not path.is_file():
        raise QualityConfigError(f"quality config not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise QualityConfigError(f"quality config {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sets"), list) or not data["sets"]:
        raise QualityConfigError(f"quality config {path}: expected a non-empty 'sets' list")
    sets, names = [], set()
    for i, raw in enumerate(data["sets"]):
        where = f"{path.name} set #{i + 1}"
        if not isinstance(raw, dict) or not {"name", "gold", "raw"} <= set(raw):
            raise QualityConfigError(f"{where}: each set needs name, gold and raw")
        name = str(raw["name"])
        where = f"{path.name} set {name!r}"
        if name in names or name == "all" or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise QualityConfigError(f"{where}: names must be unique, not 'all', and usable as a folder name")
        names.add(name)
        gold, raw_dir = (path.parent / raw["gold"]).resolve(), (path.parent / raw["raw"]).resolve()
        if not gold.is_file():
            raise QualityConfigError(f"{where}: gold file not found: {gold}")
        if not raw_dir.is_dir():
            raise QualityConfigError(f"{where}: raw folder not found: {raw_dir}")
        check = raw.get("check")
        kwargs: dict[str, Any] = {}
        if check is not None:
            if not isinstance(check, dict) or not check.get("rule"):
                raise QualityConfigError(f"{where}: check needs a rule (in words) and files or number_multiple_of")
            kwargs["check_rule"] = str(check["rule"])
            if "files" in check:
                files = check["files"]
                if not isinstance(files, list) or not files:
                    raise QualityConfigError(f"{where}: check files must be a non-empty list of file names")
                kwargs["check_files"] = frozenset(str(f) for f in files)
            elif "number_multiple_of" in check and "file_pattern" in check:
                kwargs["check_pattern"] = str(check["file_pattern"])
                kwargs["check_multiple_of"] = int(check["number_multiple_of"])
            else:
                raise QualityConfigError(f"{where}: check needs files, or file_pattern with number_multiple_of")
        qset = QualitySet(name=name, gold=gold, raw=raw_dir, target=_target(raw.get("targets"), where), **kwargs)
        _check_split(qset)
        sets.append(qset)
    return sets


def _check_split(qset: QualitySet) -> None:
    files = _raw_files(qset.raw)
    bases = {f.rsplit("/", 1)[-1] for f in files}
    try:
        gold = load_gold(qset.gold)
    except GoldFormatError as exc:
        raise QualityConfigError(f"set {qset.name}: {exc}") from exc
    # A bundle line is named "<bundle>#L<n>": only plain files are checked here.
    missing = sorted(
        {m for g in gold for m in g.mentions if "#L" not in m and not any(file_matches(f, m) for f in files)}
    )
    if missing:
        raise QualityConfigError(f"set {qset.name}: gold mentions not in {qset.raw}: {', '.join(missing[:10])}")
    if not qset.split:
        return
    if qset.check_files is not None:
        absent = sorted(qset.check_files - bases)
        if absent:
            raise QualityConfigError(f"set {qset.name}: check files not in {qset.raw}: {', '.join(absent)}")
    parts = {f: qset.part_of(f) for f in files}
    if set(parts.values()) != set(PARTS):
        raise QualityConfigError(
            f"set {qset.name}: the split leaves a part empty ({', '.join(sorted(set(parts.values())))} only)"
        )


def shared_gold(qset: QualitySet, gold: Sequence[GoldEvent]) -> list[GoldEvent]:
    """Gold events told in articles of both parts."""
    return [g for g in gold if len({qset.part_of(m) for m in g.mentions}) > 1] if qset.split else []


def part_gold(qset: QualitySet, gold: Sequence[GoldEvent], part: str) -> list[GoldEvent]:
    """The gold events told in the part's articles, each reduced to those articles.

    The sets were chosen by cluster, but a cluster's articles can retell another cluster's event
    (tehran_dev: the Beijing agreement of cluster I is told again in cluster J). Such an event
    belongs to both parts, each scoring it on its own articles: a mention pair (event, article) lies
    in exactly one part, and an event counts as found in a part when that part's articles yield it."""
    out = []
    for g in gold:
        mentions = tuple(m for m in g.mentions if qset.part_of(m) == part)
        if mentions:
            out.append(g if mentions == g.mentions else replace(g, mentions=mentions))
    return out


def split_tables(
    qset: QualitySet, tables: dict[str, pl.DataFrame | None], gold: Sequence[GoldEvent], part: str
) -> tuple[pl.DataFrame, pl.DataFrame, list[GoldEvent]]:
    """(events, mentions, gold) of one part: the gold events told in its articles (``part_gold``),
    the mentions of its articles and the events holding one of its articles (an event merged across
    the parts is scored in both: its articles lie in both)."""
    articles = tables["articles"]
    assert articles is not None
    in_part = [
        a
        for a, f in zip(articles["article_id"].to_list(), articles["source_file"].to_list())
        if qset.part_of(f) == part
    ]
    ids = pl.Series(in_part, dtype=pl.String).implode()
    mentions = tables["mentions"].filter(pl.col("article_id").is_in(ids))
    events = tables["events"].filter(pl.col("article_ids").list.eval(pl.element().is_in(ids)).list.any())
    return events, mentions, part_gold(qset, gold, part)


# --------------------------------------------------------------------------------------------
# Figures that add up across parts and sets
# --------------------------------------------------------------------------------------------

_MENTION_KEYS = ("n_counted", "n_right", "n_required", "n_matched")
_EVENT_KEYS = ("n_counted", "n_correct", "n_required", "n_matched", "date_errors")


@dataclass
class Tally:
    """Counts behind every figure of the table, so that parts and sets add up (micro averages) and
    AUCs pool their rows."""

    n_articles: int = 0
    n_gold: int = 0
    n_gold_required: int = 0
    m_counted: int = 0
    m_right: int = 0
    m_pairs: int = 0
    m_pairs_matched: int = 0
    m_right_conf: list[float] = field(default_factory=list)
    m_wrong_conf: list[float] = field(default_factory=list)
    m_without_conf: int = 0
    e_counted: int = 0
    e_correct: int = 0
    e_required: int = 0
    e_matched: int = 0
    e_matchable: int = 0
    e_duplicates: int = 0
    e_dated: int = 0
    e_right_conf: list[float] = field(default_factory=list)
    e_wrong_conf: list[float] = field(default_factory=list)
    e_without_conf: int = 0
    date_errors: int = 0
    date_errors_alone: int = 0
    pairs_common: int = 0
    pairs_predicted: int = 0
    pairs_gold: int = 0
    m_types: dict[str, dict[str, int]] = field(default_factory=dict)
    e_types: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, report: EvalReport, n_articles: int) -> Tally:
        m, d, dd = report.mentions, report.default, report.dedup
        return cls(
            n_articles=n_articles,
            n_gold=report.n_gold,
            n_gold_required=report.n_gold_required,
            m_counted=m.n_counted,
            m_right=m.n_right,
            m_pairs=m.required_pairs,
            m_pairs_matched=m.required_pairs_matched,
            m_right_conf=list(m.confidence_right),
            m_wrong_conf=list(m.confidence_wrong),
            m_without_conf=m.n_without_confidence,
            e_counted=d.n_counted,
            e_correct=d.n_correct,
            e_required=d.required_total,
            e_matched=d.required_matched,
            e_matchable=d.required_matchable,
            e_duplicates=d.n_duplicates,
            e_dated=d.required_matched_dated,
            e_right_conf=list(d.confidence_right),
            e_wrong_conf=list(d.confidence_wrong),
            e_without_conf=d.n_without_confidence,
            date_errors=len(d.date_errors),
            date_errors_alone=sum(not e["also_matches"] for e in d.date_errors),
            pairs_common=dd.common_pairs,
            pairs_predicted=dd.predicted_pairs,
            pairs_gold=dd.gold_pairs,
            m_types={t: dict(c) for t, c in m.per_type.items()},
            e_types={t: dict(c) for t, c in d.per_type.items()},
        )

    def __add__(self, other: Tally) -> Tally:
        out = Tally()
        for name, value in vars(self).items():
            theirs = getattr(other, name)
            if isinstance(value, dict):
                merged: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
                for source in (value, theirs):
                    for t, counts in source.items():
                        for k, n in counts.items():
                            merged[t][k] += n
                setattr(out, name, {t: dict(c) for t, c in merged.items()})
            else:
                setattr(out, name, value + theirs)
        return out

    # Figures ------------------------------------------------------------------------------------
    def mention_prf(self) -> tuple[float | None, float | None, float | None]:
        p, r = ratio(self.m_right, self.m_counted), ratio(self.m_pairs_matched, self.m_pairs)
        return p, r, f1(p, r)

    def event_prf(self) -> tuple[float | None, float | None, float | None]:
        p, r = ratio(self.e_correct, self.e_counted), ratio(self.e_matched, self.e_required)
        return p, r, f1(p, r)

    def pair_pr(self) -> tuple[float | None, float | None]:
        return ratio(self.pairs_common, self.pairs_predicted), ratio(self.pairs_common, self.pairs_gold)

    def mention_auc(self) -> float | None:
        return None if self.m_without_conf else confidence_auc(self.m_right_conf, self.m_wrong_conf)

    def event_auc(self) -> float | None:
        return None if self.e_without_conf else confidence_auc(self.e_right_conf, self.e_wrong_conf)

    def types(self) -> list[str]:
        return sorted(set(self.m_types) | set(self.e_types))

    def type_figures(self, event_type: str) -> dict[str, Any]:
        m, e = self.m_types.get(event_type, {}), self.e_types.get(event_type, {})
        mp, mr = ratio(m.get("n_right", 0), m.get("n_counted", 0)), ratio(m.get("n_matched", 0), m.get("n_required", 0))
        ep, er = (
            ratio(e.get("n_correct", 0), e.get("n_counted", 0)),
            ratio(e.get("n_matched", 0), e.get("n_required", 0)),
        )
        return {
            "mention": {
                "precision": _r(mp),
                "recall": _r(mr),
                "f1": _r(f1(mp, mr)),
                **{k: m.get(k, 0) for k in _MENTION_KEYS},
            },
            "event": {
                "precision": _r(ep),
                "recall": _r(er),
                "f1": _r(f1(ep, er)),
                **{k: e.get(k, 0) for k in _EVENT_KEYS if k != "date_errors"},
            },
            "date_errors": e.get("date_errors", 0),
        }

    def to_dict(self) -> dict[str, Any]:
        mp, mr, _mf = self.mention_prf()
        ep, er, ef = self.event_prf()
        pp, pr = self.pair_pr()
        return {
            "n_articles": self.n_articles,
            "n_gold_events": self.n_gold,
            "n_gold_required": self.n_gold_required,
            "mention": {
                "precision": _r(mp),
                "recall": _r(mr),
                "f1": _r(f1(mp, mr)),
                "n_counted": self.m_counted,
                "n_right": self.m_right,
                "required_pairs": self.m_pairs,
                "required_pairs_matched": self.m_pairs_matched,
                "confidence_auc": _r(self.mention_auc()),
            },
            "event": {
                "precision": _r(ep),
                "recall": _r(er),
                "f1": _r(ef),
                "n_counted": self.e_counted,
                "n_correct": self.e_correct,
                "required": self.e_required,
                "required_matched": self.e_matched,
                "required_matched_many_to_one": self.e_matchable,
                "duplicates": self.e_duplicates,
                "required_matched_dated": self.e_dated,
                "confidence_auc": _r(self.event_auc()),
            },
            "pairs": {
                "precision": _r(pp),
                "recall": _r(pr),
                "common": self.pairs_common,
                "predicted": self.pairs_predicted,
                "gold": self.pairs_gold,
            },
            "date_errors": self.date_errors,
            "date_errors_without_other_match": self.date_errors_alone,
            "per_type": {t: self.type_figures(t) for t in self.types()},
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --------------------------------------------------------------------------------------------
# Scoring a built set
# --------------------------------------------------------------------------------------------


@dataclass
class SetResult:
    qset: QualitySet
    release: str
    parts: dict[str, Tally]  # "tune", "check" (split sets) and "all"
    shared: list[GoldEvent] = field(default_factory=list)  # gold events told in both parts
    build_seconds: float | None = None
    build_note: str = ""


def score_set(qset: QualitySet, release_dir: Path) -> SetResult:
    """Score the release of one set as a whole and per part."""
    tables = read_release_tables(release_dir, scored_columns_only=True)
    gold = load_gold(qset.gold)
    articles = tables["articles"]
    parts: dict[str, Tally] = {}
    if qset.split:
        quarantine = tables["quarantine"]
        if quarantine is not None and "duplicate_of" in quarantine.columns:
            # One text under two names is one article, kept under one of them: a split that puts the
            # names in different parts would score one part's gold against the other's article.
            for copy, kept in quarantine.select("source_file", "duplicate_of").drop_nulls().iter_rows():
                if qset.part_of(copy) != qset.part_of(kept):
                    raise QualityConfigError(
                        f"set {qset.name}: {copy} is the same text as {kept}, but the split "
                        f"puts them in different parts; keep identical texts together"
                    )
        files = articles["source_file"].to_list()
        for part in PARTS:
            events, mentions, part_gold = split_tables(qset, tables, gold, part)
            report = score_tables(
                events,
                mentions,
                articles,
                part_gold,
                quarantine=tables["quarantine"],
                release=release_dir.name,
                gold_source=str(qset.gold),
            )
            parts[part] = Tally.of(report, sum(qset.part_of(f) == part for f in files))
    report = score_tables(
        tables["events"],
        tables["mentions"],
        articles,
        gold,
        quarantine=tables["quarantine"],
        release=release_dir.name,
        gold_source=str(qset.gold),
    )
    parts["all"] = Tally.of(report, articles.height)
    return SetResult(qset=qset, release=release_dir.name, parts=parts, shared=shared_gold(qset, gold))


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def build_set(qset: QualitySet, work: Path) -> tuple[Path, float, str]:
    """Build the set's release with the ordinary build into ``work/<set>`` (its own Dagster instance
    in ``work/dagster/<set>``); returns the release folder, the wall time and the build's last line.
    The build's log is kept in ``work/<set>.log``."""
    outputs, home = work / qset.name, work / "dagster" / qset.name
    outputs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CREDENCE_RAW_DIR": str(qset.raw),
        "CREDENCE_OUTPUTS_DIR": str(outputs),
        "DAGSTER_HOME": str(home),
        "CREDENCE_GOLD_FILE": str(qset.gold),
        # A development set's build is scored, not handed to anyone: a set whose texts were
        # replaced is built, not refused by the guard against releases that drop most articles.
        "CREDENCE_ALLOW_SHRINK": "1",
    }
    log = work / f"{qset.name}.log"
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "build"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    seconds = time.perf_counter() - start
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    if done.returncode != 0:
        tail = "\n".join(lines[-15:])
        raise RuntimeError(f"build of set {qset.name} failed (exit {done.returncode}); log: {log}\n{tail}")
    latest = outputs / "releases" / "LATEST"
    if not latest.is_file():
        raise RuntimeError(f"build of set {qset.name} left no {latest}; log: {log}")
    release = latest.read_text(encoding="utf-8").strip()
    last = next((line for line in reversed(lines) if line.startswith("release ")), "")
    return outputs / "releases" / release, seconds, "unchanged" if "unchanged" in last else "new release"


def latest_release(work: Path, qset: QualitySet) -> Path:
    latest = work / qset.name / "releases" / "LATEST"
    if not latest.is_file():
        raise RuntimeError(f"set {qset.name} has no release in {work / qset.name} (run without --no-build)")
    return work / qset.name / "releases" / latest.read_text(encoding="utf-8").strip()


# --------------------------------------------------------------------------------------------
# The table and the record
# --------------------------------------------------------------------------------------------


def _f(value: float | None) -> str:
    return " n/a" if value is None else f"{value:.2f}"


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def fmt(cells):
        return "  ".join(
            str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return [fmt(header), fmt(["-" * w for w in widths]), *[fmt(r) for r in rows]]


def type_lines(title: str, tally: Tally) -> list[str]:
    rows = []
    for t in tally.types():
        fig = tally.type_figures(t)
        m, e = fig["mention"], fig["event"]
        rows.append(
            [
                t,
                _f(m["precision"]),
                _f(m["recall"]),
                _f(m["f1"]),
                f"{m['n_right']}/{m['n_counted']}",
                f"{m['n_matched']}/{m['n_required']}",
                _f(e["precision"]),
                _f(e["recall"]),
                _f(e["f1"]),
                f"{e['n_correct']}/{e['n_counted']}",
                f"{e['n_matched']}/{e['n_required']}",
                str(fig["date_errors"]),
            ]
        )
    header = [
        "type",
        "m.P",
        "m.R",
        "m.F1",
        "right/cnt",
        "pairs",
        "e.P",
        "e.R",
        "e.F1",
        "right/cnt",
        "events",
        "date err",
    ]
    return [f"== per event type: {title} ==", *(_text_table(header, rows) if rows else ["(no rows, no gold)"]), ""]


def target_status(result: SetResult) -> str:
    """One line: the set's target, met or not, and the figures it was judged on (empty without one)."""
    t = result.qset.target
    if t is None:
        return ""
    tally = result.parts["all"]
    p, r, _ = tally.mention_prf() if t.level == "mention" else tally.event_prf()
    auc = tally.mention_auc() if t.level == "mention" else tally.event_auc()
    checks = [(t.precision, p), (t.recall, r), (t.auc, auc)]
    met = all(bar is None or (value is not None and value >= bar - 1e-9) for bar, value in checks)
    if t.date_errors is not None:
        met = met and tally.date_errors <= t.date_errors
    seen = (
        [f"P {_f(p).strip()}", f"R {_f(r).strip()}"]
        + ([f"AUC {_f(auc).strip()}"] if t.auc is not None else [])
        + ([f"{tally.date_errors} date errors"] if t.date_errors is not None else [])
    )
    return f"target {result.qset.name} ({t.describe()}): {'met' if met else 'NOT met'} ({', '.join(seen)})"


def summary_lines(
    results: Sequence[SetResult], total: Tally, stamp: str, commit: str, footer: Sequence[str] = ()
) -> list[str]:
    """The compact summary, SUMMARY_LINES long: the table, each set's target, ``footer``, and as many
    of the notes as fit (blank lines fill the rest, so `tail -25` shows exactly this block)."""
    header = [
        "set",
        "part",
        "arts",
        "m.P",
        "m.R",
        "m.F1",
        "pairs",
        "e.P",
        "e.R",
        "e.F1",
        "events",
        "1:n R",
        "dup",
        "pair.P",
        "pair.R",
        "date err",
        "AUC m",
        "AUC e",
    ]
    rows = []

    def row(name: str, part: str, t: Tally) -> list[str]:
        mp, mr, mf = t.mention_prf()
        ep, er, ef = t.event_prf()
        pp, pr = t.pair_pr()
        return [
            name,
            part,
            str(t.n_articles),
            _f(mp),
            _f(mr),
            _f(mf),
            f"{t.m_pairs_matched}/{t.m_pairs}",
            _f(ep),
            _f(er),
            _f(ef),
            f"{t.e_matched}/{t.e_required}",
            _f(ratio(t.e_matchable, t.e_required)),
            str(t.e_duplicates),
            _f(pp),
            _f(pr),
            f"{t.date_errors} ({t.date_errors_alone})",
            _f(t.mention_auc()),
            _f(t.event_auc()),
        ]

    for res in results:
        for part in [*PARTS, "all"] if res.qset.split else ["all"]:
            rows.append(row(res.qset.name, part, res.parts[part]))
    if len(results) > 1:
        rows.append(row("all sets", "all", total))
    table = [f"== Credence quality {stamp}, code {commit} (default modality rule) ==", *_text_table(header, rows)]
    notes = [
        "m.* mentions before dedup; recall unit = (required gold event, article) pair; pairs = matched/required.",
        "e.* events matched one to one (required gold, then dated, then optional); a second row for one event is",
        "    wrong (dup); events = matched/required; 1:n R = the old many-to-one recall, for comparison.",
        "pair.P/R: dedup mention-pair precision/recall. date err: rows on a gold event's dyad and article with",
        "    a date outside its window (in brackets: those matching no other gold event).",
        "AUC: P(a right row's confidence > a wrong row's), ties half. check = held out (quality.yaml).",
    ]
    shared = [
        f"{r.qset.name} {len(r.shared)} ({sum(g.required for g in r.shared)} required)" for r in results if r.shared
    ]
    if shared:
        notes.append(
            "gold events told in articles of both parts, scored in each on its own articles: " + ", ".join(shared) + "."
        )
    targets = [s for s in (target_status(r) for r in results) if s]
    essential = len(table) + len(targets) + len(footer)
    fitting = notes[: max(0, SUMMARY_LINES - essential - 2)]
    rest = ["", *fitting, "", *targets, *footer]
    return [*table, *[""] * max(0, SUMMARY_LINES - len(table) - len(rest)), *rest]


def git_version(root: Path = PROJECT_ROOT) -> str:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=root, capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (git not available)"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown (not a git checkout)"


def record(results: Sequence[SetResult], total: Tally, stamp: str, commit: str, config: Path) -> dict[str, Any]:
    def rel(path: Path) -> str:
        try:
            return path.relative_to(PROJECT_ROOT).as_posix()
        except ValueError:
            return str(path)

    return {
        "date": stamp,
        "commit": commit,
        "config": rel(config),
        "rules": {
            "event": EVENT_RULE,
            "mention": MENTION_RULE,
            "modality": MODALITY_RULE,
            "auc": AUC_RULE,
            "parts": "a part holds the predictions from its articles and the gold events told in them, "
            "each reduced to those articles; 'all' is the whole set; the sets' 'all' add up to "
            "the total (micro averages)",
        },
        "sets": {
            r.qset.name: {
                "gold": rel(r.qset.gold),
                "raw": rel(r.qset.raw),
                "release": r.release,
                "check_part": r.qset.check_rule,
                "gold_events_in_both_parts": [g.id for g in r.shared],
                "target": None if r.qset.target is None else vars(r.qset.target),
                "target_status": target_status(r) or None,
                "parts": {p: t.to_dict() for p, t in r.parts.items()},
            }
            for r in results
        },
        "all": total.to_dict(),
    }


def render(
    results: Sequence[SetResult], stamp: str, commit: str, footer: Sequence[str] = ()
) -> tuple[list[str], Tally]:
    """Everything printed after the builds: per-type tables, then the summary (last)."""
    total = Tally()
    for r in results:
        total = total + r.parts["all"]
    lines: list[str] = []
    for r in results:
        lines += type_lines(f"{r.qset.name} (release {r.release}, all parts)", r.parts["all"])
    if len(results) > 1:
        lines += type_lines("all sets", total)
    return lines + summary_lines(results, total, stamp, commit, footer), total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluate.quality",
        description="Build and score every development set; print one table.",
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="sets and their split (quality.yaml)")
    parser.add_argument("--work", default=str(WORK_DIR), help="where the sets are built (default .quality/)")
    parser.add_argument(
        "--record", action="store_true", help=f"also write the record to {RECORD_FILE.relative_to(PROJECT_ROOT)}"
    )
    parser.add_argument("--record-file", default=str(RECORD_FILE), help=argparse.SUPPRESS)
    parser.add_argument("--no-build", action="store_true", help="score the sets' newest releases as they are")
    args = parser.parse_args(argv)
    work = Path(args.work).resolve()
    started = time.perf_counter()
    try:
        sets = load_config(args.config)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for qset in sets:
            if args.no_build:
                release_dir, seconds, note = latest_release(work, qset), None, "not rebuilt"
            else:
                release_dir, seconds, note = build_set(qset, work)
            result = score_set(qset, release_dir)
            result.build_seconds, result.build_note = seconds, note
            took = "" if seconds is None else f" built in {seconds:.1f} s,"
            print(
                f"{qset.name}: release {result.release} ({note}),{took} {result.parts['all'].n_articles} articles, "
                f"{result.parts['all'].n_gold} gold events; build log {work / (qset.name + '.log')}"
            )
            results.append(result)
    except (QualityConfigError, GoldFormatError, ReleaseFormatError, RuntimeError) as exc:
        print(f"quality: {exc}", file=sys.stderr)
        return 2
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    commit = git_version()
    seconds = round(time.perf_counter() - started, 1)
    written = [work / "report.json", *([Path(args.record_file)] if args.record else [])]
    footer = [
        "releases: "
        + ", ".join(f"{r.qset.name} {r.release}" for r in results)
        + f"; {seconds} s in all; record: "
        + ", ".join(_shown(p) for p in written)
    ]
    lines, total = render(results, stamp, commit, footer)
    data = record(results, total, stamp, commit, Path(args.config).resolve())
    data["seconds"] = seconds
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    for path in written:
        path.write_text(text, encoding="utf-8")
    print()
    print("\n".join(lines))
    return 0


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
