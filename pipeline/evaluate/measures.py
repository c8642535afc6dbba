"""Small measures shared by the evaluator and `make quality`: ratios, F1, confidence AUC and the
one-to-one assignment of predictions to gold events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence

import numpy as np


def ratio(num: float, den: int) -> float | None:
    return num / den if den else None


def f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 2 * p * r / (p + r) if p + r else 0.0


def confidence_auc(right: Sequence[float], wrong: Sequence[float]) -> float | None:
    """The probability that a right row scores a higher confidence than a wrong one, ties counting
    half (the Mann-Whitney U of the right rows over n_right * n_wrong); None when either class is
    empty. Counted straight from the definition on the sorted wrong scores (scipy.stats' rank
    functions would give the same and cost 0.23 s of import in every build's quality check)."""
    if len(right) == 0 or len(wrong) == 0:
        return None
    r = np.asarray(right, dtype=float)
    w = np.sort(np.asarray(wrong, dtype=float))
    below = np.searchsorted(w, r, side="left")
    tied = np.searchsorted(w, r, side="right") - below
    return float(below.sum() + 0.5 * tied.sum()) / (len(r) * len(w))


# Weights of one component are packed as one float per edge; beyond this the packing loses exactness.
_EXACT = 2**52


def assign_one_to_one(edges: Mapping[int, Mapping[Hashable, tuple[int, ...]]]) -> dict[int, Hashable]:
    """Maximum weighted bipartite matching of rows to gold ids.

    ``edges[row][gold]`` is the edge's preference as a tuple of 0/1 tiers, most important first
    (e.g. (required, dated, optional, same article)). The matching maximises the number of edges
    with the first tier set, then, among those, the second, and so on: the tiers are packed into one
    weight with a base larger than any count a matching can reach, so the order is strict. Every
    edge must have some tier set (so every edge is worth taking). Rows and gold ids that share no
    edge are solved apart (connected components), which keeps each problem small and its weights
    exact. Returns row -> gold id for the matched rows. Among equally good matchings the choice is
    scipy's ``linear_sum_assignment``'s, which is deterministic for a given input order."""
    parent: dict[Hashable, Hashable] = {}

    def find(x: Hashable) -> Hashable:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for row, golds in edges.items():
        for gold, tiers in golds.items():
            if not any(tiers):
                raise ValueError(f"edge {row!r} -> {gold!r} has no tier set")
            parent[find(("g", gold))] = find(("r", row))
    components: dict[Hashable, list[int]] = defaultdict(list)
    for row, golds in edges.items():
        if golds:
            components[find(("r", row))].append(row)

    # Imported here, where a matching is solved: scipy.optimize costs 0.2-0.3 s to import.
    from scipy.optimize import linear_sum_assignment

    result: dict[int, Hashable] = {}
    for rows in components.values():
        golds = list(dict.fromkeys(g for r in rows for g in edges[r]))
        n_tiers = max(len(t) for r in rows for t in edges[r].values())
        base = min(len(rows), len(golds)) + 1
        if base**n_tiers >= _EXACT:
            raise ValueError(
                f"a component of {len(rows)} rows and {len(golds)} gold events is too large to weigh exactly"
            )
        col = {g: j for j, g in enumerate(golds)}
        weights = np.zeros((len(rows), len(golds)))
        for i, r in enumerate(rows):
            for g, tiers in edges[r].items():
                w = 0
                for t in tuple(tiers) + (0,) * (n_tiers - len(tiers)):
                    w = w * base + int(bool(t))
                weights[i, col[g]] = w
        for i, j in zip(*linear_sum_assignment(weights, maximize=True)):
            if weights[i, j] > 0:
                result[rows[i]] = golds[j]
    return result
