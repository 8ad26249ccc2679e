"""Markdown with math, as people write it (private notes; any text a user writes in Markdown), turned into safe
HTML on the server: CommonMark by markdown-it-py, `$..$` and `$$..$$` math by mdit-py-plugins' dollarmath and
drawn as MathML by KaTeX exactly as in abstracts (web/render.py), and the HTML cleaned by nh3 (the Ammonia
sanitiser) to an allow-list of tags, attributes and URL schemes.

Raw HTML in the Markdown passes through markdown-it and is then cleaned: allowed tags (`<sub>`, `<kbd>`, ...)
stay, `<script>` and `<style>` go with their content, every other tag goes and leaves its text, event-handler
and style attributes go, and links keep only http(s) and mailto URLs. Math is cleaned apart: the sanitiser sees
a per-call random placeholder where each formula goes, and KaTeX's MathML (made with `trust=False`: no links,
no HTML) replaces it afterwards, so the sanitiser's allow-list need not hold MathML
(docs/decisions/0094-markdown-notes-sanitised-by-nh3.md).
"""

from __future__ import annotations

import functools
import re
import secrets
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin

from paperscope.web.render import render_formula

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s", "del", "ins",
    "sub", "sup", "kbd", "mark", "small", "code", "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead",
    "tbody", "tr", "th", "td", "dl", "dt", "dd", "abbr", "span", "div"})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "abbr": {"title"}, "th": {"align"},
                      "td": {"align"}, "code": {"class"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@functools.lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "commonmark" plus tables and strikethrough; images are off (a note must not make the reader's browser
    # fetch from other servers, and the pages' CSP would block them anyway).
    md = MarkdownIt("commonmark", {"html": True, "typographer": False}).enable(["table", "strikethrough"])
    md.disable("image")
    dollarmath_plugin(md, allow_labels=False, allow_space=False, allow_digits=False, double_inline=True)
    for name in ("math_inline", "math_inline_double", "math_block"):
        md.add_render_rule(name, _math_placeholder)
    return md


def _math_placeholder(_renderer: Any, tokens: Any, index: int, _options: Any, env: dict[str, Any]) -> str:
    """The formula, rendered and kept in this call's `env`; in the HTML a marker only this call knows."""
    token = tokens[index]
    formulas: list[Markup] = env["formulas"]
    formulas.append(render_formula(token.content.strip(), display=token.type != "math_inline"))
    marker = f"math{env['nonce']}x{len(formulas) - 1}x"
    return f"<div>{marker}</div>" if token.type == "math_block" else marker


def render_markdown(text: str) -> Markup:
    """Markdown text as sanitised HTML with its math as MathML."""
    env: dict[str, Any] = {"nonce": secrets.token_hex(12), "formulas": []}
    html = _parser().render(text, env)
    cleaned = nh3.clean(html, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                        url_schemes=set(URL_SCHEMES), link_rel="nofollow noopener noreferrer", strip_comments=True)
    formulas: list[Markup] = env["formulas"]
    marker = re.compile(f"math{env['nonce']}x(\\d+)x")
    return Markup(marker.sub(lambda m: str(formulas[int(m.group(1))]), cleaned))  # noqa: S704 - cleaned above
