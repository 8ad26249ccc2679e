"""Turning paper text into safe HTML: LaTeX math as MathML (KaTeX, on the server), TeX text markup
(`\\textbf`, `\\%`, ...; paperscope.text), highlighted search terms, excerpts. Everything that is not rendered
math or a tag made from known markup is escaped, so a title such as `<script>` shows as text."""

from __future__ import annotations

import concurrent.futures
import functools
import importlib.util
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from paperscope import limits
from paperscope.index.keyword import parse_user_query
from paperscope.text import EXCERPT_CHARS, excerpt, html_text, plain_text, safe_url

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
MAX_FORMULA_CHARS = 600


# PyKaTeX runs KaTeX in one QuickJS runtime, which only works on the thread that first used it (from another
# thread every call fails with a bogus "size exceeded"): all formulas go through this one thread.
_katex_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="katex")


def _katex(tex: str, display: bool) -> str:
    import pykatex

    html: str = pykatex.renderToString(tex, displayMode=display, output="mathml", throwOnError=False,
                                       trust=False, maxExpand=200, maxSize=20)
    return html


@functools.lru_cache(maxsize=20_000)
def _rendered(tex: str, display: bool) -> Markup:
    """The formula as MathML; raises when KaTeX fails (failures are not cached)."""
    html = _katex_thread.submit(_katex, tex, display).result(timeout=10)
    return Markup(html)  # noqa: S704 - KaTeX escapes the text it renders; trust=False forbids links and HTML


def render_formula(tex: str, display: bool = False) -> Markup:
    """A formula as MathML (which browsers draw without JavaScript), or the escaped source if KaTeX fails."""
    if len(tex) > MAX_FORMULA_CHARS or importlib.util.find_spec("pykatex") is None:
        return Markup('<code class="tex">{}</code>').format(tex)  # the web extra brings pykatex
    try:
        return _rendered(tex, display)
    except Exception:  # a KaTeX failure must never take a page down
        return Markup('<code class="tex">{}</code>').format(tex)


@functools.lru_cache(maxsize=1024)
def highlighter(query: str | None) -> re.Pattern[str] | None:
    """A pattern matching the query's words (and longer words starting with them), or None."""
    if not query:
        return None
    parsed = parse_user_query(query)
    terms = {w for w in parsed.words if len(w) > 1} | set(parsed.prefixes)
    terms |= {w for phrase in parsed.phrases for w in phrase if len(w) > 1}
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\w*", re.IGNORECASE)


@functools.lru_cache(maxsize=16_384)  # pages show the same titles and excerpts again and again
def rich_text(text: str | None, query: str | None = None, limit: int | None = None) -> Markup:
    """Text with its LaTeX math rendered, its TeX text markup converted and the query's words marked;
    everything else escaped. With `limit`, an excerpt: that many characters of the converted text, cut at a word
    and never inside a formula."""
    return html_text(text, highlight=highlighter(query), math=render_formula, limit=limit)


def rich_excerpt(text: str | None, query: str | None = None, limit: int = EXCERPT_CHARS) -> Markup:
    return rich_text(text, query, limit)


def author_list(authors: Iterable[str], limit: int = 6) -> str:
    names = list(authors)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of every page: autoescaping on for everything."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["rich"] = rich_text
    env.filters["rich_excerpt"] = rich_excerpt
    env.filters["excerpt"] = excerpt
    env.filters["plain"] = plain_text
    env.filters["authors"] = author_list
    env.filters["pid"] = lambda paper_id: quote(str(paper_id), safe="/:")
    env.filters["link"] = lambda url: safe_url(url) if url else None  # a stored URL as a link: http(s) only
    env.globals["max"] = max
    env.globals["min"] = min
    env.globals["limits"] = limits.ALL  # the forms' maxlength, from the rules the store applies
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)
