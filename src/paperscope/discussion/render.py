"""A comment's Markdown as the safe HTML its readers see: Markdown with math rendered and sanitised exactly as
private notes are (`web/markdown.render_markdown`: markdown-it, KaTeX, nh3), then, in the sanitised HTML's text
outside links, code and math, paper ids turned into links to their page here and `@handle`s of this instance's
users marked.

Paper ids are those a reader writes: arXiv ids (`2503.11731`, `arXiv:2503.11731v2`, `arXiv:hep-th/9901001`; a
bare one only with a month in it, so that a number such as 1234.5678 stays a number) and
the references of `Paper.ids` (`doi:10.1038/...`, `pmid:...`, `pmcid:...`, `openalex:W...`, `s2:...`,
`openreview:...`); each links to `/papers/ID`, which finds the paper by any of its ids. The links and mention
marks are added after sanitising, from text only, so nothing a comment says can forge them
(docs/decisions/0096-comments-rendered-on-read.md).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Collection
from urllib.parse import quote

from markupsafe import Markup, escape

from paperscope.discussion.mentions import MENTION, mentioned_handles
from paperscope.ids import parse_paper_ref, split_ref

#: A paper id in prose: not inside a word, a path, a URL or an e-mail address.
PAPER_ID = re.compile(
    r"(?<![\w./:#@%&=?-])(?:"
    r"\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}(?:v\d+)?(?![\w/])"  # bare: only with a month, unlike most decimals
    r"|arxiv:\s?(?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[a-z]{2})?/\d{7})(?:v\d+)?(?![\w/])"
    r"|(?:doi|pmid|pmcid|openalex|s2|openreview):\S+)", re.IGNORECASE)
_TRAILING = ".,;:!?'\""  # sentence punctuation after an id is not part of it
_CLOSING = {")": "(", "]": "["}
_TAG = re.compile(r'<(?:[^">]|"[^"]*")*>')  # the sanitiser writes attributes in double quotes
_TAG_NAME = re.compile(r"^</?([a-zA-Z][\w-]*)")
_NOT_LINKED_IN = frozenset({"a", "code", "pre", "math"})
CACHED, CACHED_CHARS = 1024, 2000  # rendered comments kept in memory, and the longest text kept


def render_comment(markdown: str, known_handles: Collection[str]) -> Markup:
    """The comment as sanitised HTML, its math as MathML, paper ids as links and the `@handle`s of
    `known_handles` (the existing users' handles, any case) marked as mentions."""
    named = frozenset(mentioned_handles(markdown) & {h.lower() for h in known_handles})
    return _cached(markdown, named) if len(markdown) <= CACHED_CHARS else _render(markdown, named)


def _render(markdown: str, handles: frozenset[str]) -> Markup:
    # Imported here: importing paperscope.web builds the app, whose routes import this module.
    from paperscope.web.markdown import render_markdown

    sanitised = str(render_markdown(markdown))
    parts: list[str] = []
    inside = 0  # depth in elements whose text keeps as it is
    position = 0
    for tag in _TAG.finditer(sanitised):
        text = sanitised[position:tag.start()]
        parts.append(text if inside else _linked(text, handles))
        name = _TAG_NAME.match(tag.group())
        if name and name.group(1).lower() in _NOT_LINKED_IN:
            inside = max(0, inside + (-1 if tag.group().startswith("</") else 1))
        parts.append(tag.group())
        position = tag.end()
    tail = sanitised[position:]
    parts.append(tail if inside else _linked(tail, handles))
    return Markup("".join(parts))  # noqa: S704 - sanitised above; the added links are built from escaped text


#: A thread page renders the same comments for every reader: the usual ones (not the longest, whose MathML could
#: fill memory) are kept, at most CACHED comments.
_cached = functools.lru_cache(maxsize=CACHED)(_render)


def _linked(escaped_text: str, handles: frozenset[str]) -> str:
    """HTML text with its paper ids linked and its mentions of `handles` marked."""
    text = html.unescape(escaped_text)
    found: list[tuple[int, int, Markup]] = []
    for match in PAPER_ID.finditer(text):
        written = _trimmed(match.group())
        link = _paper_link(written)
        if link is not None:
            found.append((match.start(), match.start() + len(written), link))
    for match in MENTION.finditer(text):
        if match.group(1).lower() in handles:
            found.append((match.start(), match.end(),
                          Markup('<span class="mention">@{}</span>').format(match.group(1))))
    if not found:
        return escaped_text
    out: list[str] = []
    position = 0
    for start, end, replacement in sorted(found, key=lambda f: f[0]):
        if start < position:  # overlaps one already taken
            continue
        out += [str(escape(text[position:start])), str(replacement)]
        position = end
    out.append(str(escape(text[position:])))
    return "".join(out)


def _trimmed(written: str) -> str:
    """An id without the punctuation that follows it in a sentence (a closing bracket only when unbalanced)."""
    while written:
        last = written[-1]
        unbalanced = last in _CLOSING and written.count(last) > written.count(_CLOSING[last])
        if last not in _TRAILING and not unbalanced:
            break
        written = written[:-1]
    return written


def _paper_link(written: str) -> Markup | None:
    """A link to the paper page of an id as written, or None when it names no paper id."""
    ref = parse_paper_ref(written.replace(" ", ""))
    if ref is None:
        return None
    kind, value = split_ref(ref)
    target = value if kind == "arxiv" else ref
    return Markup('<a class="paper-ref" href="/papers/{}">{}</a>').format(quote(target, safe="/:"), written)
