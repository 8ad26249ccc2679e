"""Markup inside metadata fields: JATS XML abstracts (Crossref), HTML tags in titles (Crossref, OpenAlex).

`markup_text` turns a fragment into the clean one-line text paperscope stores: no tag survives, block
elements (paragraphs, sections, list items) are separated by a space, a section title reads "Title: ...",
and math is kept the way arXiv abstracts keep it, as TeX between dollars:

* MathML (`<mml:math>`): its TeX annotation (`<annotation encoding="application/x-tex">`), else its `alttext`
  attribute, each as `$...$`; else the text of its elements, which reads as the formula's symbols in order;
* JATS `<tex-math>`: its TeX as `$...$` (a `\\documentclass` wrapper around it is dropped).

The fragment is parsed with defusedxml (no entity expansion, no external entities). A fragment that is not
well-formed XML (stray `<` or `&`, an unknown namespace prefix) has its tags removed by a pattern instead,
so no input fails; either way HTML character references are decoded.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from paperscope.ingest.fields import clean_text

_NAMESPACES = {
    "jats": "http://www.ncbi.nlm.nih.gov/JATS1",
    "mml": "http://www.w3.org/1998/Math/MathML",
    "xlink": "http://www.w3.org/1999/xlink",
    "ali": "http://www.niso.org/schemas/ali/1.0/",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
_ROOT_OPEN = "<root " + " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _NAMESPACES.items()) + ">"
_BLOCKS = frozenset({"p", "sec", "list", "list-item", "title", "abstract", "disp-formula", "def-list", "def-item",
                     "caption", "label", "break", "br", "div", "li", "ul", "ol"})
_SKIPPED = frozenset({"fn", "object-id", "graphic", "inline-graphic"})  # notes and images: no abstract text
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
# Tags, declarations (with an internal subset), comments and processing instructions; a "<" before a space or
# digit is text ("p < 0.05").
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>|<!--.*?-->|<!\[CDATA\[|\]\]>|<[!?][^<>]*>",
                  re.DOTALL | re.IGNORECASE)
_TEX_DOCUMENT = re.compile(r"\\begin\{document\}(?P<body>.*?)\\end\{document\}", re.DOTALL)
_HEADING_END = re.compile(r"[.:?!]$")
_LEADING_ABSTRACT = re.compile(r"^(?:abstract|summary)\s*[:.]\s*", re.IGNORECASE)  # the fragment's own heading
MAX_DEPTH = 200  # deeper nesting is not metadata; its text is kept flat


def markup_text(fragment: str | None) -> str:
    """Clean text of a JATS/HTML fragment (see the module docstring); "" for None or an empty fragment."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return clean_text(fragment)
    source = _NAMED_ENTITY.sub(_named_entity, fragment)
    try:
        root = fromstring(f"{_ROOT_OPEN}{source}</root>")
    except (ET.ParseError, DefusedXmlException, ValueError):
        return clean_text(html.unescape(_TAG.sub(" ", fragment)))
    parts: list[str] = []
    _walk(root, parts, 0)
    return _LEADING_ABSTRACT.sub("", clean_text("".join(parts).replace("\xa0", " ")), count=1)


def _named_entity(match: re.Match[str]) -> str:
    """HTML's named character references (`&nbsp;`, `&eacute;`), which XML does not know, as characters."""
    name = match[1]
    if name in _XML_ENTITIES:
        return match[0]
    decoded = html.unescape(match[0])
    return html.escape(decoded, quote=False) if decoded != match[0] else f"&amp;{name};"


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _walk(element: ET.Element, parts: list[str], depth: int) -> None:
    name = _local(element.tag)
    if name == "math":
        parts.append(f" {_math(element)} ")
        return
    if name == "tex-math":
        tex = _tex(element.text or "")
        parts.append(f" ${tex}$ " if tex else " ")
        return
    if name in _SKIPPED:
        return
    block = name in _BLOCKS
    if block:
        parts.append(" ")
    if depth > MAX_DEPTH:
        parts.append("".join(element.itertext()))
    else:
        if element.text:
            parts.append(element.text)
        for child in element:
            _walk(child, parts, depth + 1)
            if child.tail:
                parts.append(child.tail)
    if name == "title" and not _HEADING_END.search(clean_text("".join(element.itertext()))):
        parts.append(":")
    if block:
        parts.append(" ")


def _math(element: ET.Element) -> str:
    for annotation in element.iter():
        if _local(annotation.tag) == "annotation" and "tex" in annotation.get("encoding", "").lower():
            tex = clean_text(annotation.text or "")
            if tex:
                return f"${tex.strip('$')}$"
    alttext = clean_text(element.get("alttext", ""))
    if alttext:
        return f"${alttext.strip('$')}$"
    symbols = [clean_text(text) for node in element.iter() if _local(node.tag) not in ("annotation", "annotation-xml")
               for text in (node.text,) if text and text.strip()]
    return " ".join(symbols)


def _tex(source: str) -> str:
    document = _TEX_DOCUMENT.search(source)
    body = document["body"] if document else source
    return clean_text(body).strip("$").strip()
