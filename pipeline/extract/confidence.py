"""Confidence of a mention: a logistic model over what the coder saw, fitted on development data.

    confidence = 1 / (1 + exp(-(intercept + sum of weight x feature)))

The features (made by pipeline.extract.coder) are the frame's prior weight, how the actor and
target were found (slot, and name / title / coreference), whether a host was paired with a
participant, the number of pairs the sentence gave, modality, date basis, sentence length and
whether both sides are one country. Categorical features enter as `name=value` indicators.
The weights are data (``schemas/dictionaries/confidence.yaml``), fitted by
``tools/calibrate_confidence.py`` on the tune parts of the development sets, so that right rows
score higher than wrong ones (the AUC, reported by `make quality`, measures exactly that).
"""

from __future__ import annotations

import functools
import math

from pipeline.text.lexicon import DICT_DIR
from schemas.codebook import load_yaml

NUMERIC = ("frame_weight", "noun_trigger", "host", "pairs", "tokens", "same_country", "actor_person")
CATEGORICAL = ("actor_slot", "target_slot", "actor_via", "target_via", "modality", "date_basis")


@functools.lru_cache(maxsize=1)
def model() -> tuple[float, dict[str, float]]:
    data = load_yaml((DICT_DIR / "confidence.yaml").read_text(encoding="utf-8"))
    return float(data["intercept"]), {str(k): float(v) for k, v in (data.get("weights") or {}).items()}


def slot_class(slot: str | None) -> str:
    """A slot by how directly it ties the participant to the trigger: core (subject, object,
    possessor, indirect object), prep (a preposition's object), chained (through another noun or
    clause: "obj>of", "comp>obj"), frame (the governing clause's subject), none."""
    if not slot or slot == "stop":
        return "none"
    if ">" in slot:
        return "chained"
    if slot in ("subj", "obj", "poss", "dative", "self"):
        return "core"
    if slot in ("frame_subj", "comp"):
        return "frame"
    return "prep"


def encode(features: dict) -> dict[str, float]:
    """The model's inputs: numeric features scaled to about [0, 1], categorical ones as indicators.
    Slots enter by class: 300 development rows cannot weigh forty slot names one by one (a model
    with one weight per slot fitted the tune part at AUC 0.81 and the held-out part at 0.53)."""
    x = {k: float(features.get(k, 0.0)) for k in NUMERIC}
    x["tokens"] = min(x["tokens"], 100.0) / 100.0
    x["pairs"] = min(x["pairs"], 6.0) / 6.0
    for k in CATEGORICAL:
        v = features.get(k)
        x[f"{k}={slot_class(v) if k.endswith('_slot') else v}"] = 1.0
    return x


def confidence(features: dict) -> float:
    intercept, weights = model()
    z = intercept + sum(weights.get(k, 0.0) * v for k, v in encode(features).items())
    return round(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))), 4)
