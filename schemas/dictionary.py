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
        out.append(
            ColumnDoc(
                name=name,
                dtype=col.dtype.type,
                description=col.description or "",
                nullable=bool(col.nullable),
                unique=bool(col.unique),
            )
        )
    return out


def frictionless_schema(model: type[pa.DataFrameModel]) -> dict:
    fields = []
    for c in columns(model):
        field = {"name": c.name, "type": c.frictionless_type, "description": c.description}
        if c.is_list:
            field["description"] += " (CSV: values joined with ';'.)"
        constraints = {}
        # An empty list is an empty CSV cell, so list columns are never "required" in CSV terms.
        if not c.nullable and not c.is_list:
            constraints["required"] = True
        if c.unique:
            constraints["unique"] = True
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
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
