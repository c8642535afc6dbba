"""The Jinja2 environment of the release's documents (pipeline/release/templates/).

HTML templates (``*.html.j2``) autoescape everything taken from the data; Markdown templates
(``*.md.j2``) do not (the data card is Markdown, rendered to HTML on the page with raw HTML off).
StrictUndefined: a misspelt name in a template fails the build instead of printing nothing.
"""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def _pct(part: int | float, whole: int | float) -> str:
    return "n/a" if not whole else f"{100 * part / whole:.1f}%"


def _num(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def _md_cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline.release", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=_pct, num=_num, md=_md_cell)
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)
