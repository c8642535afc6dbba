"""Load a user's gold file (the format of ``examples/gold/seed_events.yaml``) into typed records.

A gold file is YAML with a top-level ``events`` list (a bare list is accepted too). Each event has
``id``, ``type``, ``actor``, ``target``, ``window`` and ``mentions``; ``required`` (default true),
``alt``, ``evidence`` and ``modality`` are optional. Errors name the event and the field, because
users write these files by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from schemas.codebook import Codebook, load_codebook


class GoldFormatError(ValueError):
    """The gold file cannot be used as written (the message says where and why)."""


@dataclass(frozen=True)
class Coding:
    """One acceptable (type, modality) coding; modality None means "what happened or was announced"."""

    event_type: str
    modality: str | None = None


@dataclass(frozen=True)
class GoldEvent:
    id: str
    event_type: str
    actor: str | None
    target: str | None
    window_start: dt.date | None
    window_end: dt.date | None
    mentions: tuple[str, ...]
    required: bool = True
    evidence: str = ""
    modality: str | None = None
    alts: tuple[Coding, ...] = field(default_factory=tuple)

    @property
    def codings(self) -> tuple[Coding, ...]:
        """The main coding first, then the alternatives."""
        return (Coding(self.event_type, self.modality), *self.alts)

    @property
    def window_days(self) -> float:
        """Width of the window; an open bound makes it infinitely wide (used to pick the narrowest)."""
        if self.window_start is None or self.window_end is None:
            return float("inf")
        return float((self.window_end - self.window_start).days)

    def window_text(self) -> str:
        return f"[{self.window_start or '..'}, {self.window_end or '..'}]"


def _as_date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise GoldFormatError(f"{where}: {value!r} is not a date (write YYYY-MM-DD, or null for an open bound)")


def _as_country(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise GoldFormatError(f"{where}: expected an ISO3 country code or IGO, got {value!r}")
    return value.strip().upper()


def _check_type(event_type: Any, codebook: Codebook, where: str) -> str:
    if not isinstance(event_type, str) or event_type not in codebook.event_types:
        known = ", ".join(sorted(codebook.event_types))
        raise GoldFormatError(f"{where}: unknown event type {event_type!r} (codebook types: {known})")
    return event_type


def _check_modality(modality: Any, codebook: Codebook, where: str) -> str | None:
    if modality is None:
        return None
    if modality not in codebook.modalities:
        raise GoldFormatError(f"{where}: unknown modality {modality!r} (one of {', '.join(codebook.modalities)})")
    return modality


def _parse_event(raw: Any, index: int, codebook: Codebook) -> GoldEvent:
    where = f"gold event #{index + 1}"
    if not isinstance(raw, dict):
        raise GoldFormatError(f"{where}: expected a mapping, got {type(raw).__name__}")
    if "id" in raw:
        where = f"gold event {raw['id']!r}"
    missing = [key for key in ("id", "type", "actor", "window", "mentions") if key not in raw]
    if missing:
        raise GoldFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    window = raw["window"]
    if not isinstance(window, (list, tuple)) or len(window) != 2:
        raise GoldFormatError(f"{where}: window must be [earliest, latest], got {window!r}")
    start, end = _as_date(window[0], f"{where} window"), _as_date(window[1], f"{where} window")
    if start is not None and end is not None and end < start:
        raise GoldFormatError(f"{where}: window ends ({end}) before it starts ({start})")
    mentions = raw["mentions"]
    if isinstance(mentions, str):
        mentions = [mentions]
    if not isinstance(mentions, list) or not all(isinstance(m, str) and m.strip() for m in mentions):
        raise GoldFormatError(f"{where}: mentions must be a list of file names, got {mentions!r}")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise GoldFormatError(f"{where}: required must be true or false, got {required!r}")
    alts_raw = raw.get("alt") or []
    if isinstance(alts_raw, dict):
        alts_raw = [alts_raw]
    alts = []
    for alt in alts_raw:
        if isinstance(alt, str):
            alt = {"type": alt}
        if not isinstance(alt, dict) or "type" not in alt:
            raise GoldFormatError(f"{where}: each alt needs a type (and optionally a modality), got {alt!r}")
        alts.append(
            Coding(
                _check_type(alt["type"], codebook, f"{where} alt"),
                _check_modality(alt.get("modality"), codebook, f"{where} alt"),
            )
        )
    return GoldEvent(
        id=str(raw["id"]),
        event_type=_check_type(raw["type"], codebook, where),
        actor=_as_country(raw["actor"], f"{where} actor"),
        target=_as_country(raw.get("target"), f"{where} target"),
        window_start=start,
        window_end=end,
        mentions=tuple(m.strip() for m in mentions),
        required=required,
        evidence=str(raw.get("evidence") or ""),
        modality=_check_modality(raw.get("modality"), codebook, where),
        alts=tuple(alts),
    )


def parse_gold(data: Any, codebook: Codebook | None = None) -> list[GoldEvent]:
    """Gold events from already-parsed YAML (a mapping with ``events`` or a bare list)."""
    codebook = codebook or load_codebook()
    if isinstance(data, dict):
        if "events" not in data:
            raise GoldFormatError("gold file has no top-level 'events' list")
        data = data["events"]
    if not isinstance(data, list):
        raise GoldFormatError("gold file must hold a list of events under 'events'")
    events = [_parse_event(raw, i, codebook) for i, raw in enumerate(data)]
    seen: set[str] = set()
    for event in events:
        if event.id in seen:
            raise GoldFormatError(f"gold event id {event.id!r} appears twice")
        seen.add(event.id)
    return events


def load_gold(path: str | Path, codebook: Codebook | None = None) -> list[GoldEvent]:
    """Read and check a gold file; raises :class:`GoldFormatError` with a readable message."""
    path = Path(path)
    if not str(path) or not path.is_file():
        raise GoldFormatError(f"gold file not found: {str(path) or '(empty path)'}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise GoldFormatError(f"gold file {path} is not valid YAML: {exc}") from exc
    return parse_gold(data, codebook)
