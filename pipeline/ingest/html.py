"""HTML page -> article text (one block element per line) and the metadata the page states."""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

# Page furniture, never article text. Scripts are dropped, never run.
_DROP = "script, style, noscript, template, nav, footer, aside, form, iframe, svg, button, select, header nav"
_BLOCKS = (
    "p, h1, h2, h3, h4, h5, h6, li, blockquote, pre, figcaption, dt, dd, tr, div, section, article, br, hr, "
    "table, ul, ol, figure, main, address"
)
# Inserted after every block element, then turned into line breaks. HTML source whitespace
# (including newlines inside a <p>) is insignificant and collapses to one space.
_BREAK = "\u2029"
_WS = re.compile(r"[ \t\n\r\f\v\u00a0]+")


@dataclass(frozen=True)
class HtmlPage:
    text: str
    title: str | None
    url: str | None
    outlet: str | None
    published_at: str | None  # as written; parsed by the caller like any metadata date
    language: str | None


def _meta(tree: LexborHTMLParser, *selectors: str) -> str | None:
    for sel in selectors:
        node = tree.css_first(sel)
        if node is not None:
            value = node.attributes.get("content") or node.attributes.get("href") or node.attributes.get("datetime")
            if value and value.strip():
                return value.strip()
    return None


def extract_html(html: str) -> HtmlPage:
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    page_title = _WS.sub(" ", title_node.text()).strip() if title_node is not None else None
    meta_title = _meta(tree, 'meta[property="og:title"]')
    url = _meta(tree, 'link[rel="canonical"]', 'meta[property="og:url"]')
    outlet = _meta(tree, 'meta[property="og:site_name"]')
    published = _meta(
        tree, 'meta[property="article:published_time"]', 'meta[name="date"]', 'meta[name="pubdate"]', "time[datetime]"
    )
    html_node = tree.css_first("html")
    language = html_node.attributes.get("lang") if html_node is not None else None

    for node in tree.css(_DROP):
        node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.body or tree.root
    if root is None:
        return HtmlPage("", page_title, url, outlet, published, language)
    for node in root.css(_BLOCKS):
        node.insert_after(_BREAK)
    raw = root.text(separator="", deep=True)
    lines = [_WS.sub(" ", part).strip() for part in raw.split(_BREAK)]
    lines = [line for line in lines if line]
    title = meta_title or page_title
    # The headline belongs in the stored text as its first line (sentence 0 for the extractor);
    # when the article body has no <h1>, the page's title is put there.
    if title and root.css_first("h1") is None and (not lines or lines[0] != title):
        lines.insert(0, title)
    return HtmlPage("\n".join(lines), title, url, outlet, published, language or None)
