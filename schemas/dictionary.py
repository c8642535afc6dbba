"""Column documentation derived from the pandera models (data dictionary, datapackage, UI)."""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    dtype: pl.DataType
    description: str
    nullable: bool
    unique: bool
    allowed: tuple | None = None  # isin: the allowed values
    pattern: str | None = None  # str_matches: a regular expression the whole value matches
    minimum: float | None = None  # ge
    maximum: float | None = None  # le
    required: bool = True  # False: an Optional column a table may leave out

    @property
    def is_list(self) -> bool:
        return isinstance(self.dtype, pl.List)

    @property
    def type_name(self) -> str:
        """A short, human type name (used in the data dictionary and the UI)."""
        if self.is_list:
            return "list of string"
        return {
            pl.String: "string",
            pl.Int64: "integer",
            pl.Float64: "number",
            pl.Boolean: "boolean",
            pl.Date: "date",
        }.get(self.dtype if isinstance(self.dtype, type) else type(self.dtype), str(self.dtype))

    @property
    def frictionless_type(self) -> str:
        # Lists are ';'-joined strings in CSV.
        return (
            "string"
            if self.is_list
            else {
                "integer": "integer",
                "number": "number",
                "boolean": "boolean",
                "date": "date",
            }.get(self.type_name, "string")
        )


def columns(model: type[pa.DataFrameModel]) -> list[ColumnDoc]:
    schema = model.to_schema()
    out = []
    for name, col in schema.columns.items():
        stats = {c.name: c.statistics for c in col.checks}
        allowed = stats.get("isin", {}).get("allowed_values")
        out.append(
            ColumnDoc(
                name=name,
                dtype=col.dtype.type,
                description=col.description or "",
                nullable=bool(col.nullable),
                unique=bool(col.unique),
                allowed=tuple(allowed) if allowed is not None else None,
                pattern=stats.get("str_matches", {}).get("pattern"),
                minimum=stats.get("greater_than_or_equal_to", {}).get("min_value"),
                maximum=stats.get("less_than_or_equal_to", {}).get("max_value"),
                required=bool(col.required),
            )
        )
    return out


def frictionless_fields(model: type[pa.DataFrameModel], *, lists: str = "string") -> list[dict]:
    """Table Schema fields with the model's constraints (required, unique, enum, pattern, minimum,
    maximum). ``lists``: how list columns are typed: "string" (CSV: values joined with ';') or
    "array" (Parquet: native lists)."""
    fields = []
    for c in columns(model):
        field: dict = {"name": c.name, "type": c.frictionless_type, "description": c.description}
        if c.is_list:
            field["type"] = lists
            if lists == "string":
                field["description"] += " (CSV: values joined with ';'.)"
        constraints: dict = {}
        # An empty list is an empty CSV cell, so list columns are never "required" in CSV terms.
        if not c.nullable and not c.is_list:
            constraints["required"] = True
        if c.unique:
            constraints["unique"] = True
        if c.allowed is not None and not c.is_list:
            constraints["enum"] = list(c.allowed)
        if c.pattern is not None and not c.is_list:
            # Table Schema patterns match the whole value (XML Schema regex): no anchors.
            constraints["pattern"] = c.pattern.removeprefix("^").removesuffix("$")
        if c.minimum is not None:
            constraints["minimum"] = c.minimum
        if c.maximum is not None:
            constraints["maximum"] = c.maximum
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    return fields


def frictionless_schema(model: type[pa.DataFrameModel], *, lists: str = "string") -> dict:
    fields = frictionless_fields(model, lists=lists)
    schema: dict = {"fields": fields}
    first = fields[0]["name"] if fields else None
    if first and first.endswith("_id") and columns(model)[0].unique:
        schema["primaryKey"] = [first]
    return schema


def markdown_table(model: type[pa.DataFrameModel]) -> str:
    lines = ["| column | type | null | description |", "|---|---|---|---|"]
    for c in columns(model):
        desc = c.description.replace("|", "\\|")
        lines.append(f"| `{c.name}` | {c.type_name} | {'yes' if c.nullable else 'no'} | {desc} |")
    return "\n".join(lines)
