"""The allowed import directions (docs/architecture.md), read from every module's imports.

Layers, bottom to top:
- ``schemas``: the pandera models, codebook and dictionaries; imports nothing of ``pipeline``.
- shared: ``pipeline.text`` (language utilities), ``pipeline.storage``, ``pipeline.cache``,
  ``pipeline.releases``, ``pipeline.settings``, ``pipeline.runtime``; imports only shared and schemas.
- stages: ``pipeline.<stage>`` for ingest, extract, validate, dedup, release, evaluate; each imports
  the shared layer, schemas and its own folder, never another stage, never Dagster.
- glue: the Dagster code (assets, checks, the scale-out job, definitions, cli, ...); may import
  everything below, except that the scale-out job imports no asset module.

Imports are read with ``ast`` (inside functions too), so a lazy import that runs the wrong way is
caught as well as a top-level one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAGES = {"ingest", "extract", "validate", "dedup", "release", "evaluate"}
SHARED = {"text", "storage", "cache", "releases", "settings", "runtime", "progress", "outputs", "errors"}
GLUE = {
    "assets",
    "checks",
    "scale",
    "definitions",
    "cli",
    "automation",
    "resources",
    "metadata",
    "instance_home",
    "serve",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> tuple[str, str]:
    """(layer, unit): the unit is the stage for a stage module, the module's own top name otherwise."""
    parts = module.split(".")
    if parts[0] == "schemas":
        return "schemas", "schemas"
    if parts[0] != "pipeline":
        return "external", parts[0]
    if len(parts) == 1:
        return "shared", "pipeline"  # the package's __init__ (an environment default, no imports)
    top = parts[1]
    for layer, names in (("shared", SHARED), ("stage", STAGES), ("glue", GLUE)):
        if top in names:
            return layer, top
    raise AssertionError(
        f"pipeline.{top} belongs to no layer: add it to SHARED, STAGES or GLUE here and to docs/architecture.md"
    )


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # "from pipeline.text import dates" imports the module pipeline.text.dates as well
            folder = ROOT.joinpath(*module.split("."))
            found += [
                (node.lineno, f"{module}.{alias.name}")
                for alias in node.names
                if (folder / f"{alias.name}.py").is_file() or (folder / alias.name).is_dir()
            ]
    return found


def violations(path: Path) -> list[str]:
    importer = module_name(path)
    layer, unit = layer_of(importer)
    problems = []
    for line, imported in imports_of(path):
        top = imported.split(".")[0]
        where = f"{path.relative_to(ROOT)}:{line} imports {imported}"
        if top == "dagster" and layer in ("schemas", "shared", "stage"):
            problems.append(f"{where}: only the glue layer uses Dagster")
        if top not in ("pipeline", "schemas"):
            continue
        target_layer, target_unit = layer_of(imported)
        if layer == "schemas" and target_layer != "schemas":
            problems.append(f"{where}: schemas is the bottom layer")
        elif layer == "shared" and target_layer not in ("shared", "schemas"):
            problems.append(f"{where}: the shared layer imports only shared modules and schemas")
        elif layer == "stage" and target_layer == "glue":
            problems.append(f"{where}: a stage imports no Dagster glue")
        elif layer == "stage" and target_layer == "stage" and target_unit != unit:
            problems.append(f"{where}: a stage imports no other stage (move what is shared down)")
        elif importer.startswith("pipeline.scale") and imported.startswith("pipeline.assets"):
            problems.append(f"{where}: the scale-out job calls stage functions, not assets")
    return problems


def project_modules() -> list[Path]:
    return sorted([*(ROOT / "pipeline").rglob("*.py"), *(ROOT / "schemas").rglob("*.py")])


def test_every_module_belongs_to_a_layer():
    for path in project_modules():
        layer_of(module_name(path))


def test_imports_run_only_downward():
    problems = [p for path in project_modules() for p in violations(path)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("pipeline/ingest/example.py", "from pipeline.extract.actors import resolve\n", "no other stage"),
        ("pipeline/text/example.py", "def f():\n    from pipeline.ingest.core import ingest_raw\n", "shared layer"),
        ("pipeline/dedup/example.py", "from pipeline.resources import CredenceSettings\n", "no Dagster glue"),
        ("pipeline/dedup/example.py", "import dagster as dg\n", "only the glue layer"),
        ("pipeline/scale/example.py", "from pipeline.assets import release\n", "not assets"),
        ("pipeline/release/example.py", "from ..dedup import core\n", "no other stage"),
        ("schemas/example.py", "from pipeline.text.lexicon import normalize\n", "bottom layer"),
    ],
)
def test_a_violating_import_is_caught(tmp_path, monkeypatch, module, source, expected):
    """The rules fail on the imports they forbid (checked on a file placed in a copy of the layout)."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    path = tmp_path / module
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    found = violations(path)
    assert found and expected in found[0], found


def test_allowed_imports_pass(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    path = tmp_path / "pipeline" / "dedup" / "example.py"
    path.parent.mkdir(parents=True)
    path.write_text(
        "from pipeline.dedup.core import build_events\nfrom pipeline.storage import atomic_path\n"
        "from pipeline.text import dates\nfrom schemas.models import Event\nimport polars\n",
        encoding="utf-8",
    )
    assert violations(path) == []
