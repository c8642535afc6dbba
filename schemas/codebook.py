"""Load the codebook (``schemas/codebook.yaml``): event types, modalities, sectors, date vocab."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


def load_yaml(text: str | bytes) -> Any:
    """yaml.safe_load, through libyaml's loader when PyYAML has it (its wheels do): the same
    data, several times faster (the actor gazetteer is read by every extraction worker)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


SCHEMAS_DIR = Path(__file__).resolve().parent
CODEBOOK_PATH = SCHEMAS_DIR / "codebook.yaml"


@dataclass(frozen=True)
class Codebook:
    raw: dict[str, Any]
    sha256: str

    @property
    def version(self) -> int:
        return int(self.raw.get("version", 1))

    @property
    def event_types(self) -> dict[str, dict[str, Any]]:
        return self.raw["event_types"]

    @property
    def modalities(self) -> list[str]:
        return list(self.raw["modalities"])

    @property
    def sectors(self) -> list[str]:
        return list(self.raw["sectors"])

    @property
    def date_precisions(self) -> list[str]:
        return list(self.raw["date_precisions"])

    @property
    def date_bases(self) -> list[str]:
        return list(self.raw["date_bases"])

    @property
    def modality_strength(self) -> list[str]:
        return list(self.raw["modality_strength"])

    def is_symmetric(self, event_type: str) -> bool:
        return bool(self.event_types[event_type].get("symmetric", False))

    def is_state_change(self, event_type: str) -> bool:
        return bool(self.event_types[event_type].get("state_change", False))

    def modalities_compatible(self, a: str, b: str) -> bool:
        if a == b:
            return True
        return any({a, b} == set(pair) for pair in self.raw.get("compatible_modalities", []))


@functools.lru_cache(maxsize=8)
def load_codebook(path: str | Path = CODEBOOK_PATH) -> Codebook:
    data = Path(path).read_bytes()
    return Codebook(raw=load_yaml(data), sha256=hashlib.sha256(data).hexdigest())


GOLDSTEIN_PATH = SCHEMAS_DIR / "goldstein.yaml"


@functools.cache
def load_goldstein() -> dict[str, float]:
    """CAMEO code -> Goldstein scale value (``schemas/goldstein.yaml``)."""
    data = load_yaml(GOLDSTEIN_PATH.read_bytes())
    return {str(code): float(value) for code, value in data.items()}
