"""Score a release against a user's gold file (format and rule: ``examples/gold/seed_events.yaml``).

Matching (from the gold header). A predicted event matches a gold event when its type equals the
gold type or an ``alt`` type, its actor and target countries equal the gold ones (unordered for
symmetric types, per the codebook), and its interval ``[date_start, date_end]`` overlaps the gold
window (a null bound is unbounded). A prediction with ``date_precision == "unknown"`` still matches
(when it overlaps) but counts as undated: "dated matches" are matches with a known precision.

One to one. Each gold event is credited to at most one predicted event and each predicted event to
at most one gold event: a maximum weighted bipartite matching that prefers, in this order, matching
required gold events, then dated matches of them, then optional gold events, then a prediction
whose articles include one of the gold event's files. A counted prediction matched to a required
event is right; one left unmatched although it matches a required event (taken by another row) is
wrong: a second row for one event is a deduplication failure. A prediction matched to an optional
event, or that could match only optional events, is left out of both counts. Precision = right /
counted predictions; recall = required gold events matched / required gold events. (The old
many-to-one count, required events matched by any prediction, is kept as "matchable".)

Mentions (extraction alone, before deduplication). The unit of recall is a (required gold event,
article) pair, one per file the gold event lists in ``mentions``. A mention matches a pair when its
article is that file and its type (or an alt), modality (by the rule below), actor, target
(unordered for symmetric types) and dates (overlap) agree with the gold event. Mention precision =
counted mentions matching some required pair / counted mentions (a mention matching only optional
pairs is left out); several mentions in one article may match one pair (a headline and a body
sentence both tell it) and all are right. Mention recall = required pairs matched / required pairs.

Confidence AUC: the probability that a right row has a higher ``confidence`` than a wrong row (ties
count half), over counted mentions and over counted events separately; n/a when a class is empty.
Per event type, precision counts rows by their predicted type and recall counts gold events (or
pairs) by their gold type.

Modality. The gold format codes what happened or was announced and has no modality for the main
coding; only ``alt`` entries name one. So, by default, a prediction is counted when its modality is
``asserted`` or ``planned``, or when its (type, modality) equals a coding that names that modality
(an alt, or the main coding of a gold event carrying the optional ``modality`` field) of a gold
event with the same actor and target. A main coding without a modality accepts asserted and
planned; a coding that names a modality accepts only it. The same scores are also computed with
every modality counted and modality ignored in matching ("all modalities"), so nothing is hidden.

Date errors: counted predictions that agree with a required gold event on coding, actor and target
and whose articles include one of that gold event's mention files, but whose interval does not
overlap its window. They are listed even when the prediction also matches another gold event (the
``also_matches`` field says so), because that is what a merge of two dated reports looks like.

Deduplication is scored on mentions. A mention is assigned to the gold event it fits (coding under
the default modality rule, actor, target, overlapping dates, and its article among the gold event's
mention files; the narrowest window wins when several fit; unassigned mentions are ignored). Pair
precision/recall compare mention pairs sharing a predicted event with pairs sharing a gold event;
B-cubed averages per mention. A false merge is a predicted event holding mentions assigned to two
or more gold events. A gold event is deduplicated exactly when one predicted event holds all its
assigned mentions and that event's articles are exactly the gold event's mention files.

Gold mention names are matched to ``articles.source_file``: a bare file name by basename, a name
with a folder by the full relative path (or a path ending in it).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.evaluate.gold import Coding, GoldEvent, GoldFormatError, load_gold, parse_gold
from pipeline.evaluate.measures import assign_one_to_one, confidence_auc
from pipeline.evaluate.measures import f1 as _f1
from pipeline.evaluate.measures import ratio as _ratio
from pipeline.runtime import gc_paused
from schemas.codebook import Codebook, load_codebook

__all__ = [
    "DEFAULT_MODALITIES",
    "MENTION_RULE",
    "DedupScores",
    "EvalReport",
    "GoldEvent",
    "GoldFormatError",
    "MatchScores",
    "MentionScores",
    "ReleaseFormatError",
    "check_release",
    "evaluation_check_result",
    "load_gold",
    "parse_gold",
    "score_release",
    "score_tables",
]

# What the gold codes when a coding names no modality: what happened or was announced.
DEFAULT_MODALITIES = ("asserted", "planned")
MODALITY_RULE = (
    "Counted by default: predictions whose modality is asserted or planned, plus predictions whose "
    "(type, modality) equals a coding naming that modality (an alt, or a gold event's modality field) "
    "of a gold event with the same actor and target. 'All modalities' counts every prediction and "
    "ignores modality in matching."
)
EVENT_RULE = (
    "Events are matched one to one (maximum weighted bipartite matching preferring required gold, then "
    "dated matches, then optional gold): a row left unmatched because its gold event was taken by "
    "another row is wrong (a duplicate row); a row matched to optional gold, or that could match only "
    "optional gold, is left out."
)
MENTION_RULE = (
    "Mentions (before deduplication): the unit of recall is a (required gold event, article) pair. A "
    "mention matches a pair when its article is that file and type (or alt), modality, actor, target "
    "and dates agree; precision = counted mentions matching a required pair / counted mentions "
    "(mentions matching only optional pairs are left out; several mentions may match one pair and all "
    "are right); recall = required pairs matched / required pairs."
)
EVENT_COLUMNS = (
    "event_id",
    "event_type",
    "modality",
    "actor_country",
    "target_country",
    "date_start",
    "date_end",
    "date_precision",
    "article_ids",
)
MENTION_COLUMNS = (
    "mention_id",
    "event_id",
    "article_id",
    "event_type",
    "modality",
    "actor_country",
    "target_country",
    "date_start",
    "date_end",
)
ARTICLE_COLUMNS = ("article_id", "source_file")


class ReleaseFormatError(ValueError):
    """A release table is missing or lacks a column the evaluation needs."""


# --------------------------------------------------------------------------------------------
# Matching primitives
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """A predicted event or a mention, reduced to what matching looks at."""

    id: str
    event_type: str
    modality: str
    actor: str | None
    target: str | None
    start: dt.date | None
    end: dt.date | None
    precision: str
    files: frozenset[str]
    quote: str = ""
    event_id: str | None = None
    confidence: float | None = None


def file_matches(source_file: str, gold_name: str) -> bool:
    """Does an article's ``source_file`` stand for a gold mention name?"""
    source = source_file.replace("\\", "/")
    name = gold_name.replace("\\", "/")
    if name.startswith("./"):
        name = name[2:]
    if "/" not in name:
        return source.rsplit("/", 1)[-1] == name
    return source == name or source.endswith("/" + name)


def _files_hit(files: Iterable[str], gold: GoldEvent) -> bool:
    return any(file_matches(f, name) for f in files for name in gold.mentions)


def _overlaps(start: dt.date | None, end: dt.date | None, gold: GoldEvent) -> bool:
    if start is not None and gold.window_end is not None and start > gold.window_end:
        return False
    return not (end is not None and gold.window_start is not None and end < gold.window_start)


class _Matcher:
    def __init__(self, gold: Sequence[GoldEvent], codebook: Codebook):
        self.gold = list(gold)
        self.codebook = codebook
        # Only gold events with a coding of the row's type and the row's actor pair can match it,
        # so they are indexed by that key (gold order kept) instead of scanning the whole file.
        self._index: dict[tuple, list[GoldEvent]] = defaultdict(list)
        for g in self.gold:
            for event_type in dict.fromkeys(c.event_type for c in g.codings):
                self._index[self._key(event_type, g.actor, g.target)].append(g)

    def _key(self, event_type: str, actor: str | None, target: str | None) -> tuple:
        if self._symmetric(event_type):
            return (event_type, frozenset([(actor, target), (target, actor)]))
        return (event_type, actor, target)

    def candidates(self, row: _Row) -> list[GoldEvent]:
        return self._index.get(self._key(row.event_type, row.actor, row.target), [])

    def _symmetric(self, event_type: str) -> bool:
        spec = self.codebook.event_types.get(event_type)
        return bool(spec and spec.get("symmetric", False))

    def actors_agree(self, row: _Row, gold: GoldEvent) -> bool:
        if (row.actor, row.target) == (gold.actor, gold.target):
            return True
        return self._symmetric(row.event_type) and (row.target, row.actor) == (gold.actor, gold.target)

    @staticmethod
    def coding_accepts(coding: Coding, row: _Row, all_modalities: bool) -> bool:
        if coding.event_type != row.event_type:
            return False
        if all_modalities:
            return True
        if coding.modality is None:
            return row.modality in DEFAULT_MODALITIES
        return row.modality == coding.modality

    def agrees(self, row: _Row, gold: GoldEvent, all_modalities: bool) -> bool:
        """Type (or alt) and actors agree; dates not looked at."""
        return self.actors_agree(row, gold) and any(self.coding_accepts(c, row, all_modalities) for c in gold.codings)

    def matches(self, row: _Row, gold: GoldEvent, all_modalities: bool) -> bool:
        return self.agrees(row, gold, all_modalities) and _overlaps(row.start, row.end, gold)

    def counted(self, row: _Row, all_modalities: bool) -> bool:
        if all_modalities or row.modality in DEFAULT_MODALITIES:
            return True
        return any(
            self.actors_agree(row, g)
            and any(c.event_type == row.event_type and c.modality == row.modality for c in g.codings)
            for g in self.candidates(row)
        )


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class MatchScores:
    """Event-level scores under one modality rule."""

    mode: str
    n_predictions: int
    n_not_counted_modality: int
    n_optional_only: int
    n_counted: int
    n_correct: int
    n_dated_correct: int
    required_total: int
    required_matched: int
    required_matched_dated: int
    precision: float | None
    recall: float | None
    f1: float | None
    misses: list[dict[str, Any]] = field(default_factory=list)
    wrong_rows: list[dict[str, Any]] = field(default_factory=list)
    date_errors: list[dict[str, Any]] = field(default_factory=list)
    matched_by: dict[str, list[str]] = field(default_factory=dict)
    # Required gold events that some counted prediction matches (the old many-to-one recall's numerator).
    required_matchable: int = 0
    # Wrong rows left unmatched because the gold event they match went to another row.
    n_duplicates: int = 0
    confidence_auc: float | None = None
    # Per type: n_counted and n_correct by the predicted type, n_required and n_matched by the gold
    # type, date_errors by the predicted type.
    per_type: dict[str, dict[str, int]] = field(default_factory=dict)
    # Confidences of the right and the wrong counted rows (for AUCs pooled over parts and sets).
    confidence_right: list[float] = field(default_factory=list, repr=False)
    confidence_wrong: list[float] = field(default_factory=list, repr=False)
    n_without_confidence: int = 0

    @property
    def n_undated_correct(self) -> int:
        return self.n_correct - self.n_dated_correct


@dataclass
class MentionScores:
    """Mention-level scores (extraction before deduplication) under one modality rule."""

    mode: str
    n_mentions: int
    n_not_counted_modality: int
    n_optional_only: int
    n_counted: int
    n_right: int
    required_pairs: int
    required_pairs_matched: int
    precision: float | None
    recall: float | None
    f1: float | None
    confidence_auc: float | None = None
    # Per type: n_counted and n_right by the mention's type, n_required and n_matched (pairs) by the
    # gold event's type.
    per_type: dict[str, dict[str, int]] = field(default_factory=dict)
    missed_pairs: list[dict[str, Any]] = field(default_factory=list)
    wrong_mentions: list[dict[str, Any]] = field(default_factory=list)
    confidence_right: list[float] = field(default_factory=list, repr=False)
    confidence_wrong: list[float] = field(default_factory=list, repr=False)
    n_without_confidence: int = 0


@dataclass
class DedupScores:
    """Deduplication scored on the mentions that could be assigned to a gold event."""

    n_mentions: int
    n_assigned: int
    predicted_pairs: int
    gold_pairs: int
    common_pairs: int
    pair_precision: float | None
    pair_recall: float | None
    pair_f1: float | None
    bcubed_precision: float | None
    bcubed_recall: float | None
    bcubed_f1: float | None
    false_merges: list[dict[str, Any]] = field(default_factory=list)
    per_gold: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_exact(self) -> int:
        return sum(1 for g in self.per_gold if g["exact"])


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


@dataclass
class EvalReport:
    gold_source: str
    release: str | None
    n_gold: int
    n_gold_required: int
    default: MatchScores
    all_modalities: MatchScores
    dedup: DedupScores
    mentions: MentionScores
    mentions_all_modalities: MentionScores
    modality_rule: str = MODALITY_RULE
    event_rule: str = EVENT_RULE
    mention_rule: str = MENTION_RULE

    # Headline numbers are those of the default modality rule.
    @property
    def precision(self) -> float | None:
        return self.default.precision

    @property
    def recall(self) -> float | None:
        return self.default.recall

    @property
    def f1(self) -> float | None:
        return self.default.f1

    def passed(self, min_precision: float = 0.90, min_recall: float = 0.93, max_date_errors: int | None = 0) -> bool:
        """Precision and recall (default modality rule) reach the bars and date errors stay within
        ``max_date_errors`` (None: not checked). Undefined scores (nothing to count) fail."""
        p, r = self.default.precision, self.default.recall
        if p is None or r is None or p < min_precision or r < min_recall:
            return False
        return max_date_errors is None or len(self.default.date_errors) <= max_date_errors

    def to_dict(self) -> dict[str, Any]:
        def scores(s: MatchScores | MentionScores) -> dict[str, Any]:
            d = asdict(s)
            # The confidences themselves are working data for pooled AUCs, not results.
            del d["confidence_right"], d["confidence_wrong"]
            if isinstance(s, MatchScores):
                d["n_undated_correct"] = s.n_undated_correct
            return d

        dedup = asdict(self.dedup)
        dedup["n_exact"] = self.dedup.n_exact
        return {
            "gold_source": self.gold_source,
            "release": self.release,
            "n_gold": self.n_gold,
            "n_gold_required": self.n_gold_required,
            "modality_rule": self.modality_rule,
            "event_rule": self.event_rule,
            "mention_rule": self.mention_rule,
            "default": scores(self.default),
            "all_modalities": scores(self.all_modalities),
            "mentions": scores(self.mentions),
            "mentions_all_modalities": scores(self.mentions_all_modalities),
            "dedup": dedup,
        }

    def to_markdown(self, max_rows: int | None = None) -> str:
        """The report; ``max_rows`` caps each list of wrong rows (the asset check's copy in the
        event log: a corpus the gold does not cover has thousands; `make evaluate` prints all)."""
        d, a, dd = self.default, self.all_modalities, self.dedup
        m, ma = self.mentions, self.mentions_all_modalities
        out = [f"# Evaluation: release {self.release or '(tables)'} against {self.gold_source}", ""]
        out += [
            f"Gold: {self.n_gold} events, {self.n_gold_required} required. "
            "Matching rule: the gold file's header (type or alt, actor, target, overlapping dates).",
            "",
            f"Event rule: {self.event_rule}",
            "",
            f"Mention rule: {self.mention_rule}",
            "",
            f"Modality rule: {self.modality_rule}",
            "",
            f"Quality bar (precision >= 0.90, recall >= 0.93, no date errors): "
            f"{'met' if self.passed() else 'not met'}.",
            "",
        ]
        out += [
            "## Mentions (extraction, before deduplication)",
            "",
            "| measure | default rule | all modalities |",
            "|---|---|---|",
        ]
        rows = [
            ("precision", _fmt(m.precision), _fmt(ma.precision)),
            ("recall", _fmt(m.recall), _fmt(ma.recall)),
            ("F1", _fmt(m.f1), _fmt(ma.f1)),
            (
                "required (event, article) pairs matched",
                f"{m.required_pairs_matched}/{m.required_pairs}",
                f"{ma.required_pairs_matched}/{ma.required_pairs}",
            ),
            ("mentions (all rows)", m.n_mentions, ma.n_mentions),
            ("left out: modality not coded by the gold", m.n_not_counted_modality, ma.n_not_counted_modality),
            ("left out: match only optional pairs", m.n_optional_only, ma.n_optional_only),
            ("mentions counted", m.n_counted, ma.n_counted),
            ("right (match a required pair)", m.n_right, ma.n_right),
            ("confidence AUC (right above wrong)", _fmt(m.confidence_auc), _fmt(ma.confidence_auc)),
        ]
        out += [f"| {k} | {x} | {y} |" for k, x, y in rows]
        out += ["", "## Events", "", "| measure | default rule | all modalities |", "|---|---|---|"]
        rows = [
            ("precision", _fmt(d.precision), _fmt(a.precision)),
            ("recall", _fmt(d.recall), _fmt(a.recall)),
            ("F1", _fmt(d.f1), _fmt(a.f1)),
            (
                "required events matched (one to one)",
                f"{d.required_matched}/{d.required_total}",
                f"{a.required_matched}/{a.required_total}",
            ),
            (
                "required events some prediction matches (many to one)",
                f"{d.required_matchable}/{d.required_total}",
                f"{a.required_matchable}/{a.required_total}",
            ),
            ("required events matched by a dated prediction", d.required_matched_dated, a.required_matched_dated),
            ("predictions (all rows)", d.n_predictions, a.n_predictions),
            ("left out: modality not coded by the gold", d.n_not_counted_modality, a.n_not_counted_modality),
            ("left out: matched to (or match only) optional events", d.n_optional_only, a.n_optional_only),
            ("predictions counted", d.n_counted, a.n_counted),
            ("correct (matched to a required event)", d.n_correct, a.n_correct),
            ("dated matches", d.n_dated_correct, a.n_dated_correct),
            ("undated matches (precision unknown)", d.n_undated_correct, a.n_undated_correct),
            ("wrong rows", len(d.wrong_rows), len(a.wrong_rows)),
            ("of which duplicates (their gold event went to another row)", d.n_duplicates, a.n_duplicates),
            ("date errors", len(d.date_errors), len(a.date_errors)),
            ("confidence AUC (right above wrong)", _fmt(d.confidence_auc), _fmt(a.confidence_auc)),
        ]
        out += [f"| {k} | {x} | {y} |" for k, x, y in rows]
        out += [
            "",
            "## Per event type (default rule)",
            "",
            "Precision counts rows by their predicted type, recall counts gold events (pairs) by their gold type.",
            "",
        ]
        out += type_table(m.per_type, d.per_type)
        out += [
            "",
            "## Deduplication",
            "",
            f"Mentions assigned to a gold event: {dd.n_assigned} of {dd.n_mentions}.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| pair precision | {_fmt(dd.pair_precision)} ({dd.common_pairs}/{dd.predicted_pairs} pairs) |",
            f"| pair recall | {_fmt(dd.pair_recall)} ({dd.common_pairs}/{dd.gold_pairs} pairs) |",
            f"| pair F1 | {_fmt(dd.pair_f1)} |",
            f"| B-cubed precision | {_fmt(dd.bcubed_precision)} |",
            f"| B-cubed recall | {_fmt(dd.bcubed_recall)} |",
            f"| B-cubed F1 | {_fmt(dd.bcubed_f1)} |",
            f"| false merges | {len(dd.false_merges)} |",
            f"| gold events as one event holding exactly their articles | {dd.n_exact}/{len(dd.per_gold)} |",
            "",
        ]
        if dd.per_gold:
            out += [
                "| gold | required | predicted events | their articles | gold articles | exact |",
                "|---|---|---|---|---|---|",
            ]
            for g in dd.per_gold:
                out.append(
                    f"| {g['gold_id']} | {'yes' if g['required'] else 'no'} | "
                    f"{_cell(', '.join(g['predicted_events']) or '-')} | "
                    f"{_cell('; '.join(', '.join(fs) for fs in g['predicted_articles']) or '-')} | "
                    f"{_cell(', '.join(g['gold_articles']))} | {'yes' if g['exact'] else 'no'} |"
                )
            out.append("")
        if dd.false_merges:
            out += ["### False merges", ""]
            out += [f"- {m['event_id']}: mentions of {', '.join(m['gold_ids'])}" for m in dd.false_merges]
            out.append("")
        out += ["## Misses (required gold events not matched)", ""]
        out += [
            f'- {g["gold_id"]} {g["type"]} {g["actor"]} -> {g["target"]} {g["window"]}: "{g["evidence"]}"'
            for g in d.misses
        ] or ["None."]
        out += ["", "## Wrong rows (counted predictions not matched to a required gold event)", ""]
        out += _wrong_table(d.wrong_rows, max_rows)
        out += ["", "## Mention pairs missed (required gold event, article) with no matching mention", ""]
        shown = m.missed_pairs if max_rows is None else m.missed_pairs[:max_rows]
        out += [
            f"- {g['gold_id']} in {g['file']}: {g['type']} {g['actor']} -> {g['target']} {g['window']}" for g in shown
        ] or ["None."]
        if len(shown) < len(m.missed_pairs):
            out += ["", f"... and {len(m.missed_pairs) - len(shown):,} more (all of them: `make evaluate`)."]
        out += ["", "## Wrong mentions (counted mentions matching no required pair)", ""]
        out += _wrong_table(m.wrong_mentions, max_rows, id_field="mention_id")
        out += ["", "## Date errors", ""]
        if d.date_errors:
            out += ["| event_id | gold | predicted interval | gold window | also matches |", "|---|---|---|---|---|"]
            out += [
                f"| {e['event_id']} | {e['gold_id']} | [{e['date_start']}, {e['date_end']}] | {e['window']} | "
                f"{', '.join(e['also_matches']) or '-'} |"
                for e in d.date_errors
            ]
        else:
            out.append("None.")
        default_wrong = {w["event_id"] for w in d.wrong_rows}
        extra = [w for w in a.wrong_rows if w["event_id"] not in default_wrong]
        out += ["", "## Wrong rows added when every modality counts", ""]
        out += _wrong_table(extra, max_rows)
        return "\n".join(out) + "\n"


def _wrong_table(rows: list[dict[str, Any]], max_rows: int | None = None, id_field: str = "event_id") -> list[str]:
    if not rows:
        return ["None."]
    lines = [
        f"| {id_field} | type | modality | actor | target | dates | confidence | why | quote |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    shown = rows if max_rows is None else rows[:max_rows]
    for w in shown:
        conf = w.get("confidence")
        lines.append(
            f"| {w[id_field]} | {w['type']} | {w['modality']} | {_cell(w['actor'])} | "
            f"{_cell(w['target'])} | [{w['date_start']}, {w['date_end']}] | "
            f"{'-' if conf is None else f'{conf:.2f}'} | {_cell(w.get('reason') or '-')} | "
            f"{_cell(w['quote'])} |"
        )
    if len(shown) < len(rows):
        lines += ["", f"... and {len(rows) - len(shown):,} more (all of them: `make evaluate`)."]
    return lines


def type_figures(counts: dict[str, int], right: str) -> tuple[float | None, float | None, float | None]:
    """(precision, recall, F1) of one type's counts (``right``: the key of the right rows)."""
    p, r = (
        _ratio(counts.get(right, 0), counts.get("n_counted", 0)),
        _ratio(counts.get("n_matched", 0), counts.get("n_required", 0)),
    )
    return p, r, _f1(p, r)


def type_table(mention_types: dict[str, dict[str, int]], event_types: dict[str, dict[str, int]]) -> list[str]:
    """Markdown table of per-type mention and event figures."""
    types = sorted(set(mention_types) | set(event_types))
    if not types:
        return ["None."]
    lines = [
        "| type | mention P | mention R | mention F1 | right/counted | pairs matched | "
        "event P | event R | event F1 | correct/counted | events matched | date errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in types:
        mc, ec = mention_types.get(t, {}), event_types.get(t, {})
        mp, mr, mf = type_figures(mc, "n_right")
        ep, er, ef = type_figures(ec, "n_correct")
        lines.append(
            f"| {t} | {_fmt(mp)} | {_fmt(mr)} | {_fmt(mf)} | {mc.get('n_right', 0)}/{mc.get('n_counted', 0)} | "
            f"{mc.get('n_matched', 0)}/{mc.get('n_required', 0)} | {_fmt(ep)} | {_fmt(er)} | {_fmt(ef)} | "
            f"{ec.get('n_correct', 0)}/{ec.get('n_counted', 0)} | "
            f"{ec.get('n_matched', 0)}/{ec.get('n_required', 0)} | {ec.get('date_errors', 0)} |"
        )
    return lines


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def _require_columns(df: pl.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ReleaseFormatError(f"{table} table lacks column(s) {', '.join(missing)}")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _confidence_expr(df: pl.DataFrame) -> pl.Expr:
    # A release always carries confidence; hand-made tables may not (the AUC is then n/a).
    return (pl.col("confidence") if "confidence" in df.columns else pl.lit(None, dtype=pl.Float64)).alias("confidence")


def _predictions(events: pl.DataFrame, names_of: dict[str, tuple[str, ...]]) -> list[_Row]:
    """One row per event. Its ``files`` are the names of those of its articles that ``names_of``
    holds (scoring passes the gold's articles: files are only ever matched against gold names)."""
    files_of: dict[int, set[str]] = defaultdict(set)
    linked = (
        events.select(pl.col("article_ids").alias("a"))
        .with_row_index("i")
        .explode("a")
        .filter(pl.col("a").is_in(pl.Series(list(names_of), dtype=pl.String).implode()))
    )
    for i, a in linked.iter_rows():
        files_of[i].update(names_of[a])
    quote = pl.col("quote") if "quote" in events.columns else pl.lit(None, dtype=pl.String)
    view = events.select(
        "event_id",
        "event_type",
        "modality",
        "actor_country",
        "target_country",
        "date_start",
        "date_end",
        "date_precision",
        quote.alias("quote"),
        _confidence_expr(events),
    )
    rows = []
    no_files: frozenset[str] = frozenset()
    for i, (event_id, event_type, modality, actor, target, start, end, precision, text, conf) in enumerate(
        view.iter_rows()
    ):
        files = frozenset(files_of[i]) if i in files_of else no_files
        rows.append(
            _Row(
                id=event_id,
                event_type=event_type,
                modality=modality,
                actor=actor,
                target=target,
                start=_date(start),
                end=_date(end),
                precision=precision or "unknown",
                files=files,
                quote=text or "",
                event_id=event_id,
                confidence=conf,
            )
        )
    return rows


def _mentions(mentions: pl.DataFrame, names_of: dict[str, tuple[str, ...]]) -> list[_Row]:
    view = mentions.with_columns(
        _confidence_expr(mentions),
        (pl.col("quote") if "quote" in mentions.columns else pl.lit(None, dtype=pl.String)).alias("quote"),
        (pl.col("date_precision") if "date_precision" in mentions.columns else pl.lit(None, dtype=pl.String)).alias(
            "date_precision"
        ),
    )
    rows = []
    for r in view.iter_rows(named=True):
        names = names_of.get(r["article_id"], ())
        rows.append(
            _Row(
                id=r["mention_id"],
                event_type=r["event_type"],
                modality=r["modality"],
                actor=r["actor_country"],
                target=r["target_country"],
                start=_date(r["date_start"]),
                end=_date(r["date_end"]),
                precision=r["date_precision"] or "unknown",
                files=frozenset(names),
                quote=r["quote"] or "",
                event_id=r["event_id"],
                confidence=r["confidence"],
            )
        )
    return rows


def _gold_summary(g: GoldEvent) -> dict[str, Any]:
    return {
        "gold_id": g.id,
        "type": g.event_type,
        "actor": g.actor,
        "target": g.target,
        "window": g.window_text(),
        "mentions": list(g.mentions),
        "evidence": g.evidence,
    }


def _row_summary(p: _Row, id_field: str = "event_id") -> dict[str, Any]:
    return {
        id_field: p.id,
        "type": p.event_type,
        "modality": p.modality,
        "actor": p.actor,
        "target": p.target,
        "date_start": None if p.start is None else p.start.isoformat(),
        "date_end": None if p.end is None else p.end.isoformat(),
        "date_precision": p.precision,
        "confidence": p.confidence,
        "quote": p.quote,
    }


class _Confidences:
    """Confidences of right and wrong rows; a row without one makes the AUC undefined, never skipped."""

    def __init__(self) -> None:
        self.right: list[float] = []
        self.wrong: list[float] = []
        self.missing = 0

    def add(self, row: _Row, right: bool) -> None:
        if row.confidence is None:
            self.missing += 1
        else:
            (self.right if right else self.wrong).append(float(row.confidence))

    def auc(self) -> float | None:
        return None if self.missing else confidence_auc(self.right, self.wrong)


def _type_counts() -> defaultdict[str, dict[str, int]]:
    return defaultdict(lambda: defaultdict(int))


def _plain(per_type: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {t: dict(sorted(c.items())) for t, c in sorted(per_type.items())}


def _score_events(preds: list[_Row], matcher: _Matcher, all_modalities: bool) -> MatchScores:
    gold = matcher.gold
    required = [g for g in gold if g.required]
    by_id = {g.id: g for g in gold}
    not_counted = 0
    counted_rows: list[tuple[_Row, list[GoldEvent]]] = []
    for p in preds:
        if not matcher.counted(p, all_modalities):
            not_counted += 1
            continue
        counted_rows.append((p, [g for g in matcher.candidates(p) if matcher.matches(p, g, all_modalities)]))

    # One to one: maximise required matches, then dated ones among them, then optional matches, then
    # matches from one of the gold event's own articles (a tie-break: which row gets the credit).
    edges = {}
    for i, (p, hits) in enumerate(counted_rows):
        dated = p.precision != "unknown"
        edges[i] = {g.id: (g.required, g.required and dated, not g.required, _files_hit(p.files, g)) for g in hits}
    assigned = assign_one_to_one(edges)
    holder = {gid: counted_rows[i][0].id for i, gid in assigned.items()}

    optional_only = counted = correct = dated_correct = duplicates = 0
    matched_by: dict[str, list[str]] = {}
    matchable: set[str] = set()
    dated_gold: set[str] = set()
    wrong, date_errors = [], []
    per_type = _type_counts()
    conf = _Confidences()
    for i, (p, hits) in enumerate(counted_rows):
        matchable.update(g.id for g in hits if g.required)
        for g in matcher.candidates(p):
            if g.required and g not in hits and matcher.agrees(p, g, all_modalities) and _files_hit(p.files, g):
                date_errors.append(
                    {
                        **_row_summary(p),
                        "gold_id": g.id,
                        "window": g.window_text(),
                        "also_matches": [h.id for h in hits],
                    }
                )
                per_type[p.event_type]["date_errors"] += 1
        gid = assigned.get(i)
        taken = [g for g in hits if g.required]
        if (gid is not None and not by_id[gid].required) or (gid is None and hits and not taken):
            optional_only += 1
            continue
        counted += 1
        per_type[p.event_type]["n_counted"] += 1
        conf.add(p, right=gid is not None)
        if gid is None:
            reason = (
                "duplicate: " + ", ".join(f"{g.id} went to {holder[g.id]}" for g in taken)
                if taken
                else "matches no gold event"
            )
            duplicates += bool(taken)
            wrong.append({**_row_summary(p), "reason": reason})
            continue
        correct += 1
        per_type[p.event_type]["n_correct"] += 1
        matched_by[gid] = [p.id]
        if p.precision != "unknown":
            dated_correct += 1
            dated_gold.add(gid)
    for g in required:
        per_type[g.event_type]["n_required"] += 1
        per_type[g.event_type]["n_matched"] += g.id in matched_by
    misses = [_gold_summary(g) for g in required if g.id not in matched_by]
    precision = _ratio(correct, counted)
    recall = _ratio(len(required) - len(misses), len(required))
    return MatchScores(
        mode="all_modalities" if all_modalities else "default",
        n_predictions=len(preds),
        n_not_counted_modality=not_counted,
        n_optional_only=optional_only,
        n_counted=counted,
        n_correct=correct,
        n_dated_correct=dated_correct,
        required_total=len(required),
        required_matched=len(required) - len(misses),
        required_matched_dated=len(dated_gold),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        misses=misses,
        wrong_rows=wrong,
        date_errors=date_errors,
        matched_by=matched_by,
        required_matchable=len(matchable),
        n_duplicates=duplicates,
        confidence_auc=conf.auc(),
        per_type=_plain(per_type),
        confidence_right=conf.right,
        confidence_wrong=conf.wrong,
        n_without_confidence=conf.missing,
    )


def _wrong_mention_dicts(mentions: pl.DataFrame) -> list[dict[str, Any]]:
    """_row_summary of mentions that match no pair, built in polars."""

    def optional(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name) if name in mentions.columns else pl.lit(None, dtype=dtype)

    return mentions.select(
        pl.col("mention_id"),
        pl.col("event_type").alias("type"),
        pl.col("modality"),
        pl.col("actor_country").alias("actor"),
        pl.col("target_country").alias("target"),
        pl.col("date_start").cast(pl.String),
        pl.col("date_end").cast(pl.String),
        optional("date_precision", pl.String).fill_null("unknown").alias("date_precision"),
        optional("confidence", pl.Float64).alias("confidence"),
        optional("quote", pl.String).fill_null("").alias("quote"),
        pl.lit("matches no gold pair").alias("reason"),
    ).to_dicts()


def mention_label(m: _Row, matcher: _Matcher, all_modalities: bool = False) -> tuple[str, list]:
    """How one mention scores: 'right' (it matches a required (gold event, article) pair: the
    pairs are returned), 'wrong', 'optional' (it matches only optional gold: left out) or
    'not counted' (its modality is one the gold does not code)."""
    if not matcher.counted(m, all_modalities):
        return "not counted", []
    fits = [g for g in matcher.candidates(m) if matcher.matches(m, g, all_modalities)]
    hit = [(g, name) for g in fits for name in dict.fromkeys(g.mentions) if any(file_matches(f, name) for f in m.files)]
    if not hit:
        return "wrong", []
    if not any(g.required for g, _ in hit):
        return "optional", hit
    return "right", hit


def _score_mentions(rows: list[_Row], other: pl.DataFrame, matcher: _Matcher, all_modalities: bool) -> MentionScores:
    """Mention-level scores. ``rows`` are the mentions from the gold's articles; ``other`` (a frame)
    the mentions from every other article, which can match no pair: each is wrong when counted."""
    pairs = [(g, name) for g in matcher.gold if g.required for name in dict.fromkeys(g.mentions)]
    matched: set[tuple[str, str]] = set()
    not_counted = optional_only = counted = right = 0
    per_type = _type_counts()
    conf = _Confidences()
    wrong = []

    def count_wrong(m: _Row) -> None:
        nonlocal counted
        counted += 1
        per_type[m.event_type]["n_counted"] += 1
        conf.add(m, right=False)
        wrong.append({**_row_summary(m, "mention_id"), "reason": "matches no gold pair"})

    for m in rows:
        label, hit = mention_label(m, matcher, all_modalities)
        if label == "not counted":
            not_counted += 1
            continue
        if label == "optional":
            optional_only += 1
            continue
        if label == "wrong":
            count_wrong(m)
            continue
        counted += 1
        right += 1
        per_type[m.event_type]["n_counted"] += 1
        per_type[m.event_type]["n_right"] += 1
        conf.add(m, right=True)
        matched.update((g.id, name) for g, name in hit if g.required)

    # Mentions of other articles: only their modality decides whether they are counted.
    if other.height:
        if all_modalities:
            outside = other
        else:
            plain = other.filter(pl.col("modality").is_in(list(DEFAULT_MODALITIES)))
            coded = [
                m
                for m in _mentions(other.filter(~pl.col("modality").is_in(list(DEFAULT_MODALITIES))), {})
                if matcher.counted(m, all_modalities)
            ]
            not_counted += other.height - plain.height - len(coded)
            for m in coded:
                count_wrong(m)
            outside = plain
        # A corpus release holds tens of thousands of these: counted in bulk (a synthetic release of
        # 30k mentions, 22k outside the gold's articles: scoring 0.36 s one row at a time, 0.19 s).
        counted += outside.height
        for event_type, n in outside.group_by("event_type").len().iter_rows():
            per_type[event_type]["n_counted"] += n
        confidences = (
            outside["confidence"]
            if "confidence" in outside.columns
            else pl.Series([None] * outside.height, dtype=pl.Float64)
        )
        conf.missing += confidences.null_count()
        conf.wrong.extend(confidences.drop_nulls().cast(pl.Float64).to_list())
        wrong.extend(_wrong_mention_dicts(outside))

    for g, name in pairs:
        per_type[g.event_type]["n_required"] += 1
        per_type[g.event_type]["n_matched"] += (g.id, name) in matched
    missed = [{**_gold_summary(g), "file": name} for g, name in pairs if (g.id, name) not in matched]
    precision = _ratio(right, counted)
    recall = _ratio(len(pairs) - len(missed), len(pairs))
    return MentionScores(
        mode="all_modalities" if all_modalities else "default",
        n_mentions=len(rows) + other.height,
        n_not_counted_modality=not_counted,
        n_optional_only=optional_only,
        n_counted=counted,
        n_right=right,
        required_pairs=len(pairs),
        required_pairs_matched=len(pairs) - len(missed),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        confidence_auc=conf.auc(),
        per_type=_plain(per_type),
        missed_pairs=missed,
        wrong_mentions=wrong,
        confidence_right=conf.right,
        confidence_wrong=conf.wrong,
        n_without_confidence=conf.missing,
    )


def _pairs(clusters: Iterable[list[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for members in clusters for p in itertools.combinations(sorted(members), 2)}


def _score_dedup(
    mentions: list[_Row],
    matcher: _Matcher,
    event_articles: dict[str, list[tuple[str, ...]]],
    n_mentions: int | None = None,
) -> DedupScores:
    # Each mention goes to the narrowest-window gold event it fits; gold order breaks ties.
    assigned: dict[str, str] = {}
    predicted_of: dict[str, str] = {}
    for m in mentions:
        fits = [
            g for g in matcher.candidates(m) if matcher.matches(m, g, all_modalities=False) and _files_hit(m.files, g)
        ]
        if not fits:
            continue
        best = min(fits, key=lambda g: g.window_days)
        assigned[m.id] = best.id
        # A mention not yet deduplicated is its own event.
        predicted_of[m.id] = m.event_id if m.event_id is not None else f"(mention {m.id})"

    gold_clusters: dict[str, list[str]] = defaultdict(list)
    pred_clusters: dict[str, list[str]] = defaultdict(list)
    for mid, gid in assigned.items():
        gold_clusters[gid].append(mid)
        pred_clusters[predicted_of[mid]].append(mid)

    gold_pairs, pred_pairs = _pairs(gold_clusters.values()), _pairs(pred_clusters.values())
    common = len(gold_pairs & pred_pairs)
    pair_p, pair_r = _ratio(common, len(pred_pairs)), _ratio(common, len(gold_pairs))

    pred_sets = {k: set(v) for k, v in pred_clusters.items()}
    gold_sets = {k: set(v) for k, v in gold_clusters.items()}
    bp = br = 0.0
    for mid in assigned:
        pred_members, gold_members = pred_sets[predicted_of[mid]], gold_sets[assigned[mid]]
        both = len(pred_members & gold_members)
        bp += both / len(pred_members)
        br += both / len(gold_members)
    n = len(assigned)
    b_p, b_r = _ratio(bp, n), _ratio(br, n)

    false_merges = []
    for pid, members in sorted(pred_clusters.items()):
        gids = sorted({assigned[m] for m in members})
        if len(gids) >= 2:
            false_merges.append({"event_id": pid, "gold_ids": gids, "mention_ids": sorted(members)})

    per_gold = []
    for g in matcher.gold:
        holders = sorted({predicted_of[m] for m in gold_clusters.get(g.id, [])})
        holder_articles = [event_articles.get(h, []) for h in holders]
        exact = len(holders) == 1 and _same_articles(holder_articles[0], g)
        holder_files = [sorted(names[0] for names in articles) for articles in holder_articles]
        per_gold.append(
            {
                "gold_id": g.id,
                "required": g.required,
                "predicted_events": holders,
                "predicted_articles": holder_files,
                "gold_articles": list(g.mentions),
                "n_mentions": len(gold_clusters.get(g.id, [])),
                "exact": exact,
            }
        )

    return DedupScores(
        n_mentions=len(mentions) if n_mentions is None else n_mentions,
        n_assigned=n,
        predicted_pairs=len(pred_pairs),
        gold_pairs=len(gold_pairs),
        common_pairs=common,
        pair_precision=pair_p,
        pair_recall=pair_r,
        pair_f1=_f1(pair_p, pair_r),
        bcubed_precision=b_p,
        bcubed_recall=b_r,
        bcubed_f1=_f1(b_p, b_r),
        false_merges=false_merges,
        per_gold=per_gold,
    )


def _same_articles(articles: Sequence[tuple[str, ...]], gold: GoldEvent) -> bool:
    """Every article is one of the gold files and every gold file is among the articles (an
    article answers to its own source file and to the files set aside as copies of it)."""

    def hit(names: tuple[str, ...], gold_name: str) -> bool:
        return any(file_matches(n, gold_name) for n in names)

    return all(any(hit(names, g) for g in gold.mentions) for names in articles) and all(
        any(hit(names, g) for names in articles) for g in gold.mentions
    )


def _article_names(
    articles: pl.DataFrame, quarantine: pl.DataFrame | None, ids: Iterable[str] | None = None
) -> dict[str, tuple[str, ...]]:
    """article_id -> its source file, then the files quarantined as duplicates of it (only for the
    articles in ``ids`` when given: a release has tens of thousands, scoring needs a few).

    The same text under two names is one article; a gold file may list either name, so both must
    lead to the article that was kept."""
    chosen = (
        articles
        if ids is None
        else articles.filter(pl.col("article_id").is_in(pl.Series(sorted(set(ids)), dtype=pl.String).implode()))
    )
    names = {a: [f] for a, f in zip(chosen["article_id"].to_list(), chosen["source_file"].to_list())}
    if quarantine is not None and {"source_file", "duplicate_of"} <= set(quarantine.columns):
        copies = quarantine.select("source_file", "duplicate_of").filter(pl.col("duplicate_of").is_not_null())
        kept_by = articles.filter(pl.col("source_file").is_in(copies["duplicate_of"].implode()))
        id_of = dict(zip(kept_by["source_file"].to_list(), kept_by["article_id"].to_list()))
        for source, kept in copies.iter_rows():
            a = id_of.get(kept)
            if a is not None and a in names and source not in names[a]:
                names[a].append(source)
    return {a: tuple(fs) for a, fs in names.items()}


def _basename_expr(col: str) -> pl.Expr:
    return pl.col(col).str.replace_all("\\", "/", literal=True).str.split("/").list.last()


def _gold_article_names(
    articles: pl.DataFrame, quarantine: pl.DataFrame | None, gold: Sequence[GoldEvent]
) -> dict[str, tuple[str, ...]]:
    """_article_names of the articles one of whose names stands for a gold mention file. A name
    can only match a gold name with the same last path component: that is looked up first, in
    polars, and file_matches decides on the few candidates."""
    gold_names = {n for g in gold for n in g.mentions}
    bases = pl.Series(sorted({_basename(n) for n in gold_names}), dtype=pl.String).implode()
    candidates = set(articles.filter(_basename_expr("source_file").is_in(bases))["article_id"].to_list())
    if quarantine is not None and {"source_file", "duplicate_of"} <= set(quarantine.columns):
        kept = quarantine.filter(_basename_expr("source_file").is_in(bases))["duplicate_of"].drop_nulls()
        candidates |= set(articles.filter(pl.col("source_file").is_in(kept.implode()))["article_id"].to_list())
    names_of = _article_names(articles, quarantine, candidates)
    return {a: names for a, names in names_of.items() if any(file_matches(f, n) for f in names for n in gold_names)}


def score_tables(
    events: pl.DataFrame,
    mentions: pl.DataFrame,
    articles: pl.DataFrame,
    gold: Sequence[GoldEvent] | str | Path,
    *,
    quarantine: pl.DataFrame | None = None,
    codebook: Codebook | None = None,
    release: str | None = None,
    gold_source: str | None = None,
) -> EvalReport:
    """Score release tables against gold events (or a gold file path). ``quarantine`` (optional)
    lets a gold file name a copy that was set aside as a duplicate of a kept article."""
    with gc_paused():
        return _score_tables(
            events,
            mentions,
            articles,
            gold,
            quarantine=quarantine,
            codebook=codebook,
            release=release,
            gold_source=gold_source,
        )


def _score_tables(
    events: pl.DataFrame,
    mentions: pl.DataFrame,
    articles: pl.DataFrame,
    gold: Sequence[GoldEvent] | str | Path,
    *,
    quarantine: pl.DataFrame | None,
    codebook: Codebook | None,
    release: str | None,
    gold_source: str | None,
) -> EvalReport:
    codebook = codebook or load_codebook()
    if isinstance(gold, (str, Path)):
        gold_source = gold_source or str(gold)
        gold = load_gold(gold, codebook)
    gold = list(gold)
    _require_columns(events, EVENT_COLUMNS, "events")
    _require_columns(mentions, MENTION_COLUMNS, "mentions")
    _require_columns(articles, ARTICLE_COLUMNS, "articles")
    # Only the gold's articles can make a match count (file names are matched against the gold's),
    # so only their names are looked up; predictions from other articles are scored all the same.
    names_of = _gold_article_names(articles, quarantine, gold)
    preds = _predictions(events, names_of)
    matcher = _Matcher(gold, codebook)
    # Only a mention from one of the gold's articles can be assigned to a gold event or match a
    # (gold event, article) pair, so the others are only counted (and are wrong when counted).
    in_gold = pl.col("article_id").is_in(pl.Series(sorted(names_of), dtype=pl.String).implode())
    gold_mentions, other_mentions = mentions.filter(in_gold), mentions.filter(~in_gold)
    mention_rows = _mentions(gold_mentions, names_of)
    # The articles (all of them) of the events that can hold an assigned mention.
    holders = events.filter(pl.col("event_id").is_in(gold_mentions["event_id"].drop_nulls().implode()))
    holder_names = _article_names(articles, quarantine, holders["article_ids"].explode().drop_nulls().to_list())
    event_articles = {
        e: [holder_names[a] for a in (ids or []) if a in holder_names]
        for e, ids in holders.select("event_id", "article_ids").iter_rows()
    }
    return EvalReport(
        gold_source=gold_source or "(gold events)",
        release=release,
        n_gold=len(gold),
        n_gold_required=sum(g.required for g in gold),
        default=_score_events(preds, matcher, all_modalities=False),
        all_modalities=_score_events(preds, matcher, all_modalities=True),
        dedup=_score_dedup(mention_rows, matcher, event_articles, n_mentions=mentions.height),
        mentions=_score_mentions(mention_rows, other_mentions, matcher, all_modalities=False),
        mentions_all_modalities=_score_mentions(mention_rows, other_mentions, matcher, all_modalities=True),
    )


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


# The columns scoring reads (optional ones included); the rest of a release is never loaded.
SCORED_COLUMNS = {
    "events": (*EVENT_COLUMNS, "quote", "confidence"),
    "mentions": (*MENTION_COLUMNS, "date_precision", "quote", "confidence"),
    "articles": ARTICLE_COLUMNS,
    "quarantine": ("source_file", "duplicate_of"),
}


def _read_table(path: Path, columns: Sequence[str] | None = None) -> pl.DataFrame:
    try:
        if columns is None:
            return pl.read_parquet(path)
        present = pl.read_parquet_schema(path)
        # A missing column is reported by _require_columns with the table's name.
        return pl.read_parquet(path, columns=[c for c in present if c in columns])
    except Exception as exc:  # polars raises several error types for a bad file
        raise ReleaseFormatError(f"cannot read {path}: {exc}") from exc


def read_release_tables(
    release_dir: str | Path, *, scored_columns_only: bool = False
) -> dict[str, pl.DataFrame | None]:
    """events, mentions, articles (required) and quarantine (None when absent) of a release folder;
    with ``scored_columns_only``, only the columns scoring looks at."""
    release_dir = Path(release_dir)
    if not release_dir.is_dir():
        raise ReleaseFormatError(f"release folder not found: {release_dir}")
    tables: dict[str, pl.DataFrame | None] = {}
    for name in ("events", "mentions", "articles"):
        path = release_dir / f"{name}.parquet"
        if not path.is_file():
            raise ReleaseFormatError(f"release {release_dir} has no {name}.parquet")
        tables[name] = _read_table(path, SCORED_COLUMNS[name] if scored_columns_only else None)
    quarantine = release_dir / "quarantine.parquet"
    tables["quarantine"] = (
        _read_table(quarantine, SCORED_COLUMNS["quarantine"] if scored_columns_only else None)
        if quarantine.is_file()
        else None
    )
    return tables


def score_release(release_dir: str | Path, gold_path: str | Path, *, codebook: Codebook | None = None) -> EvalReport:
    """Score the release in ``release_dir`` (events/mentions/articles .parquet) against a gold file."""
    codebook = codebook or load_codebook()
    gold = load_gold(gold_path, codebook)
    t = read_release_tables(release_dir, scored_columns_only=True)
    return score_tables(
        t["events"],
        t["mentions"],
        t["articles"],
        gold,
        quarantine=t["quarantine"],
        codebook=codebook,
        release=Path(release_dir).name,
        gold_source=str(gold_path),
    )


def check_release(
    release_dir: str | Path, gold_path: str | Path, min_precision: float = 0.90, min_recall: float = 0.93
) -> tuple[bool, dict[str, float | int | str]]:
    """The asset check's body: score, or (False, {"error": reason}) when the gold file or the
    release cannot be used, so a bad gold file warns instead of breaking the run."""
    try:
        report = score_release(release_dir, gold_path)
    except (GoldFormatError, ReleaseFormatError) as exc:
        return False, {"error": str(exc), "gold_file": str(gold_path)}
    return evaluation_check_result(report, min_precision, min_recall)


def evaluation_check_result(
    report: EvalReport, min_precision: float = 0.90, min_recall: float = 0.93
) -> tuple[bool, dict[str, float | int | str]]:
    """(passed, metadata) for a WARN-severity asset check: passed when precision and recall reach the
    bars and there is no date error; metadata holds only floats, ints and strings."""
    d, a, dd = report.default, report.all_modalities, report.dedup

    def num(value: float | None) -> float | str:
        return "n/a" if value is None else round(value, 4)

    metadata: dict[str, float | int | str] = {
        "gold_file": report.gold_source,
        "release": report.release or "",
        "precision": num(d.precision),
        "recall": num(d.recall),
        "f1": num(d.f1),
        "required_matched": d.required_matched,
        "required_total": d.required_total,
        "predictions_counted": d.n_counted,
        "predictions_correct": d.n_correct,
        "dated_matches": d.n_dated_correct,
        "undated_matches": d.n_undated_correct,
        "date_errors": len(d.date_errors),
        "wrong_rows": len(d.wrong_rows),
        "misses": ", ".join(m["gold_id"] for m in d.misses),
        "required_matched_many_to_one": d.required_matchable,
        "duplicate_rows": d.n_duplicates,
        "event_confidence_auc": num(d.confidence_auc),
        "mention_precision": num(report.mentions.precision),
        "mention_recall": num(report.mentions.recall),
        "mention_pairs_matched": f"{report.mentions.required_pairs_matched}/{report.mentions.required_pairs}",
        "mention_confidence_auc": num(report.mentions.confidence_auc),
        "all_modalities_precision": num(a.precision),
        "all_modalities_recall": num(a.recall),
        "all_modalities_f1": num(a.f1),
        "pair_precision": num(dd.pair_precision),
        "pair_recall": num(dd.pair_recall),
        "bcubed_precision": num(dd.bcubed_precision),
        "bcubed_recall": num(dd.bcubed_recall),
        "bcubed_f1": num(dd.bcubed_f1),
        "false_merges": len(dd.false_merges),
        "gold_deduplicated_exactly": f"{dd.n_exact}/{len(dd.per_gold)}",
        "thresholds": f"precision >= {min_precision}, recall >= {min_recall}, no date errors",
    }
    return report.passed(min_precision, min_recall, max_date_errors=0), metadata
