"""Fit the confidence model (schemas/dictionaries/confidence.yaml) on the development sets' tune parts.

    .venv/bin/python tools/calibrate_confidence.py [--write]

Runs the coder on every development set of examples/gold/quality.yaml (the seeds, PLOVER,
tehran_dev), labels each mention as the evaluator does at mention level (right: it matches a
required (gold event, article) pair; wrong; rows the gold leaves out are not used), and fits an
L2-regularised logistic regression of right vs wrong on the coder's features
(pipeline.extract.confidence.encode) with the rows of the TUNE parts only. It prints the AUC on the
tune parts and on the held-out check parts; `--write` writes the weights, with those figures and
the date, to the YAML. Run by hand after a change to the coder; the quality record (`make
quality`) then shows the AUC every set gets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.evaluate.gold import load_gold  # noqa: E402
from pipeline.evaluate.measures import confidence_auc  # noqa: E402
from pipeline.evaluate.quality import load_config, part_gold  # noqa: E402
from pipeline.evaluate.score import _Matcher, _mentions, mention_label  # noqa: E402
from pipeline.extract.confidence import encode  # noqa: E402
from pipeline.extract.extractor import code_rows, find_candidates  # noqa: E402
from pipeline.extract.parse import parse_texts  # noqa: E402
from pipeline.ingest.stage import ingest_articles  # noqa: E402
from pipeline.text.lexicon import DICT_DIR  # noqa: E402
from schemas.codebook import load_codebook  # noqa: E402
from schemas.models import Mention, conform  # noqa: E402

L2 = 3.0  # ridge penalty on the weights (not the intercept)


def labelled_rows() -> list[tuple[str, str, dict, bool]]:
    """(set, part, features, right) for every counted mention of every development set."""
    out = []
    cb = load_codebook()
    for qset in load_config():
        articles = ingest_articles(qset.raw, None).articles
        names = dict(articles.select("article_id", "source_file").iter_rows())
        candidates, _too_long = find_candidates(articles)
        parses = parse_texts(candidates.unique("key")["parse_text"].to_list())
        rows, _over_time = code_rows(articles, candidates, parses)
        if not rows:
            continue
        frame = conform(pl.DataFrame(rows, infer_schema_length=None), Mention)
        gold = load_gold(qset.gold, cb)
        for part in ("tune", "check") if qset.split else ("all",):
            matcher = _Matcher(part_gold(qset, gold, part) if qset.split else gold, cb)
            ids = {a for a, f in names.items() if (qset.part_of(f) if qset.split else "all") == part}
            in_part = frame.filter(pl.col("article_id").is_in(list(ids)))
            feats = {r["mention_id"]: r["features"] for r in rows}
            base = {a: (names[a].rsplit("/", 1)[-1],) for a in ids}
            for m in _mentions(in_part, base):
                label, _ = mention_label(m, matcher)
                if label in ("right", "wrong"):
                    out.append((qset.name, "tune" if part == "all" else part, feats[m.id], label == "right"))
    return out


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Newton's method for L2-regularised logistic regression; column 0 is the intercept."""
    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], L2)
    reg[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + reg * w
        hess = (x.T * (p * (1 - p))) @ x + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write the fitted weights to confidence.yaml")
    args = parser.parse_args()
    data = labelled_rows()
    encoded = [encode(f) for _, _, f, _ in data]
    names = sorted({k for e in encoded for k in e})
    x = np.array([[1.0] + [e.get(k, 0.0) for k in names] for e in encoded])
    y = np.array([1.0 if right else 0.0 for *_, right in data])
    tune = np.array([part == "tune" for _, part, _, _ in data])
    w = fit(x[tune], y[tune])
    score = 1 / (1 + np.exp(-(x @ w)))
    lines = []
    for label, mask in (("tune", tune), ("check", ~tune)):
        auc = confidence_auc(score[mask & (y == 1)].tolist(), score[mask & (y == 0)].tolist())
        lines.append(f"{label}: {int(mask.sum())} rows ({int(y[mask].sum())} right), AUC {auc:.3f}")
    for qset in sorted({s for s, *_ in data}):
        m = np.array([s == qset for s, *_ in data])
        auc = confidence_auc(score[m & (y == 1)].tolist(), score[m & (y == 0)].tolist())
        lines.append(f"  {qset}: {int(m.sum())} rows, AUC {auc if auc is None else round(auc, 3)}")
    print("\n".join(lines))
    weights = {k: round(float(v), 4) for k, v in zip(names, w[1:], strict=True) if abs(v) >= 1e-4}
    for k, v in sorted(weights.items(), key=lambda kv: -abs(kv[1])):
        print(f"  {v:+.3f}  {k}")
    if args.write:
        header = [
            "# Weights of the confidence model (pipeline/extract/confidence.py), fitted by",
            f"# tools/calibrate_confidence.py on {dt.date.today()} on the tune parts of the development sets",
            f"# (L2 penalty {L2}). Right vs wrong mentions, as the evaluator labels them at mention level:",
            *[f"#   {line}" for line in lines],
        ]
        body = [f"intercept: {round(float(w[0]), 4)}", "weights:"]
        body += [f"  {k!r}: {v}" if not k.replace("_", "").isalnum() else f"  {k}: {v}" for k, v in weights.items()]
        (DICT_DIR / "confidence.yaml").write_text("\n".join(header + body) + "\n", encoding="utf-8")
        print(f"wrote {DICT_DIR / 'confidence.yaml'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
