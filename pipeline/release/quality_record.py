"""The quality record a release reports (``examples/gold/quality.json``, written by ``make
quality-record`` and committed with the code it measures). The release reads it as it is, with
its date and code version, and never rebuilds it: measuring takes three builds, and the figures
belong to the code that was measured, not to each corpus built with it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PARTS = ("tune", "check", "all")


@dataclass
class PartFigures:
    set: str
    part: str
    articles: int
    gold_events: int
    mention_p: float | None
    mention_r: float | None
    event_p: float | None
    event_r: float | None
    pair_p: float | None
    pair_r: float | None
    date_errors: int


@dataclass
class TypeFigures:
    event_type: str
    mention_p: float | None
    mention_r: float | None
    mention_pairs: str  # matched/required
    event_p: float | None
    event_r: float | None
    events: str  # matched/required


@dataclass
class QualityRecord:
    path: Path
    date: str = ""
    commit: str = ""
    problem: str = ""  # why the record cannot be used (empty when it can)
    parts: list[PartFigures] = field(default_factory=list)
    types: list[TypeFigures] = field(default_factory=list)
    sets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> gold, raw, check_part
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return not self.problem

    def matches_code(self, code_version: str) -> bool:
        """Whether the record was measured on this code (its commit prefixes the release's)."""
        commit = self.commit.removesuffix("-dirty")
        return bool(commit) and "dirty" not in self.commit and code_version.startswith(commit)


def _part(name: str, part: str, d: dict[str, Any]) -> PartFigures:
    m, e, p = d.get("mention", {}), d.get("event", {}), d.get("pairs", {})
    return PartFigures(
        set=name,
        part=part,
        articles=int(d["n_articles"]),
        gold_events=int(d.get("n_gold_required", d.get("n_gold_events", 0))),
        mention_p=m.get("precision"),
        mention_r=m.get("recall"),
        event_p=e.get("precision"),
        event_r=e.get("recall"),
        pair_p=p.get("precision"),
        pair_r=p.get("recall"),
        date_errors=int(d.get("date_errors", 0)),
    )


def load_quality_record(path: Path) -> QualityRecord:
    """The record at ``path``; when it is missing or unreadable, a record whose ``problem`` says so
    (the data card then says plainly that quality was not measured)."""
    record = QualityRecord(path=path)
    if not path.is_file():
        record.problem = f"no quality record ({path.name} is missing: run `make quality-record` and commit it)"
        return record
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record.raw = data
        record.date, record.commit = str(data["date"]), str(data["commit"])
        for name, s in data["sets"].items():
            record.sets[name] = {"gold": s.get("gold"), "raw": s.get("raw"), "check_part": s.get("check_part")}
            for part in PARTS:
                if part in s["parts"]:
                    record.parts.append(_part(name, part, s["parts"][part]))
        for t, f in sorted(data["all"]["per_type"].items()):
            m, e = f["mention"], f["event"]
            record.types.append(
                TypeFigures(
                    event_type=t,
                    mention_p=m.get("precision"),
                    mention_r=m.get("recall"),
                    mention_pairs=f"{m.get('n_matched', 0)}/{m.get('n_required', 0)}",
                    event_p=e.get("precision"),
                    event_r=e.get("recall"),
                    events=f"{e.get('n_matched', 0)}/{e.get('n_required', 0)}",
                )
            )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        record.problem = f"the quality record {path.name} cannot be read ({type(err).__name__}: {err})"
        record.parts, record.types = [], []
    return record
