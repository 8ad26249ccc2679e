"""TeX text-mode markup in titles and abstracts, turned into safe HTML or plain text for display.

arXiv abstracts are TeX source: `\\textbf{LLMs}`, `20\\%`, `--`, `\\href{url}{code}`, `Fr\\'echet`, `{\\em x}`.
`html_text` gives escaped HTML (`<strong>`, `<em>`, links only to http(s) URLs), `plain_text` and `excerpt` the
same conversions without tags (e-mail text parts, feeds, the command line). Math (`$..$`, `\\(..\\)`, ...) is
left to the caller in HTML: a `math` function renders it (KaTeX on web pages, `math_as_text` in e-mail). Plain
text shows a formula as Unicode text where it reads well so (`math_text`: `$O(n^2)$` as `O(n²)`), else its source.

Display only: what is stored, indexed and embedded stays the source. The rules hold for any input:
unknown macros stay exactly as written, unbalanced braces stay as text and never swallow what follows, and
every character that is not a known command reaches the output (escaped in HTML).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any, NamedTuple

from markupsafe import Markup, escape
from pylatexenc.latex2text import (  # type: ignore[import-untyped]
    LatexNodes2Text,
    MacroTextSpec,
    get_default_latex_context_db,
)

EXCERPT_CHARS = 320
MAX_DEPTH = 40  # brace groups deeper than this are text (no recursion limit for hostile input)

# $$..$$, $..$, \(..\), \[..\]; a dollar preceded by a backslash is a literal dollar.
MATH = re.compile(r"(?<!\\)\$\$(?P<d1>.+?)(?<!\\)\$\$|(?<!\\)\$(?P<i1>[^$]+?)(?<!\\)\$"
                  r"|\\\((?P<i2>.+?)\\\)|\\\[(?P<d2>.+?)\\\]", re.DOTALL)

_TOKEN = re.compile(
    MATH.pattern
    + r"|(?P<url>https?://(?:\\[_%#&~]|[^\s{}\\$])+)"  # a bare URL: no dashes or ties converted inside
    r"|(?P<word>\\[A-Za-z]+\*?)|(?P<symbol>\\.)|(?P<open>\{)|(?P<close>\})|(?P<dashes>--+)|(?P<tilde>~)"
    r"|(?P<text>(?:[^\\{}$~\-h]+|-(?!-)|h(?!ttps?://))+|.)", re.DOTALL)
_ESCAPED = re.compile(r"\\([_%#&~$])")
_SAFE_URL = re.compile(r"https?://[^\s\"'<>\\`]+", re.IGNORECASE)
_WHITESPACE = str.maketrans("\t\r\f\v", "    ")
# Outside XML 1.0's characters: C0 controls but tab, newline and return; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Commands that stand for a character (a following `{}` is eaten: `\deg{}`).
SYMBOLS = {
    "\\%": "%", "\\&": "&", "\\_": "_", "\\#": "#", "\\$": "$", "\\{": "{", "\\}": "}", "\\ ": " ",
    "\\,": "\u2009", "\\;": " ", "\\@": "", "\\/": "", "\\eg": "e.g.", "\\ie": "i.e.", "\\etal": "et al.",
    "\\deg": "°", "\\textdegree": "°", "\\textemdash": "—", "\\textendash": "–", "\\textasciitilde": "~",
    "\\textasciicircum": "^", "\\textbackslash": "\\", "\\textbar": "|", "\\textless": "<", "\\textgreater": ">",
    "\\textregistered": "®", "\\texttrademark": "™", "\\copyright": "©", "\\textcopyright": "©", "\\S": "§",
    "\\P": "¶", "\\dag": "†", "\\ddag": "‡", "\\textmu": "µ", "\\ldots": "…", "\\dots": "…", "\\textellipsis": "…",
    "\\aa": "å", "\\AA": "Å", "\\ae": "æ", "\\AE": "Æ", "\\o": "ø", "\\O": "Ø", "\\ss": "ß", "\\oe": "œ",
    "\\OE": "Œ", "\\l": "ł", "\\L": "Ł", "\\i": "ı", "\\j": "ȷ", "\\quad": " ", "\\qquad": " ",
    # math symbols that abstracts use outside math (`{\\mu}m`, `0.60 \\pm 0.05`)
    "\\pm": "±", "\\times": "×", "\\approx": "≈", "\\sim": "∼", "\\leq": "≤", "\\le": "≤", "\\geq": "≥",
    "\\ge": "≥", "\\neq": "≠", "\\infty": "∞", "\\to": "→", "\\rightarrow": "→", "\\leftarrow": "←",
    "\\Rightarrow": "⇒", "\\cdot": "·",
}
_GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon phi chi "
          "psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega")
SYMBOLS.update({f"\\{name}": letter for name, letter in
                zip(_GREEK.split(" "), "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ", strict=True)})
# Accent commands: the combining mark, and the character shown when the accent has nothing to sit on (`\~{}`).
ACCENTS = {"\\'": ("\u0301", "´"), "\\`": ("\u0300", "`"), "\\^": ("\u0302", "^"), '\\"': ("\u0308", "¨"),
           "\\~": ("\u0303", "~"), "\\=": ("\u0304", "¯"), "\\.": ("\u0307", "˙"), "\\v": ("\u030c", "ˇ"),
           "\\u": ("\u0306", "˘"), "\\H": ("\u030b", "˝"), "\\c": ("\u0327", "¸"), "\\r": ("\u030a", "˚"),
           "\\k": ("\u0328", "˛")}
_LETTER_ACCENTS = {"\\v", "\\u", "\\H", "\\c", "\\r", "\\k"}  # words: only with a braced argument, `\v{s}`
# One argument; the HTML tag around it, or None for "just the text".
FORMATS: dict[str, str | None] = {
    "\\textbf": "strong", "\\textit": "em", "\\emph": "em", "\\textsl": "em", "\\underline": "u",
    "\\texttt": "code", "\\textsuperscript": "sup", "\\textsubscript": "sub", "\\textsc": None, "\\text": None,
    "\\textrm": None, "\\textsf": None, "\\textnormal": None, "\\textup": None, "\\textmd": None, "\\mbox": None,
    "\\uppercase": None, "\\MakeUppercase": None,
}
# Declarations, which act on the rest of their group: `{\bf x}`, `{\em x}`.
DECLARATIONS: dict[str, str | None] = {
    "\\bf": "strong", "\\bfseries": "strong", "\\it": "em", "\\em": "em", "\\itshape": "em", "\\sl": "em",
    "\\slshape": "em", "\\tt": "code", "\\ttfamily": "code", "\\sc": None, "\\scshape": None, "\\rm": None,
    "\\rmfamily": None, "\\sf": None, "\\sffamily": None, "\\normalfont": None, "\\upshape": None,
    "\\tiny": None, "\\scriptsize": None, "\\footnotesize": None, "\\small": None, "\\normalsize": None,
    "\\large": None, "\\Large": None, "\\LARGE": None, "\\huge": None, "\\Huge": None,
}
CITATIONS = {"\\cite", "\\citep", "\\citet", "\\citealp", "\\citealt", "\\citeauthor", "\\citeyear", "\\cite*",
             "\\citep*", "\\citet*", "\\nocite"}
LINKS = {"\\href", "\\hyperlink"}  # \hyperlink is an internal target in LaTeX, but abstracts use it as \href
KNOWN = (set(SYMBOLS) | set(ACCENTS) | set(FORMATS) | set(DECLARATIONS) | CITATIONS | LINKS
         | {"\\url", "\\footnote", "\\textcolor", "\\colorbox", "\\color"})
_SUPERSCRIPTS = str.maketrans("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
_SUBSCRIPTS = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
# In formulas also the letters Unicode raises or lowers (`L^K`, `x_t`, `W^\top`).
_MATH_SUPERSCRIPTS = str.maketrans("0123456789+-−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW⊤*′'",
                                   "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵀ*′′")
_MATH_SUBSCRIPTS = str.maketrans("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")


# The parsed source: a tree of these.
class Text(NamedTuple):
    text: str


class Math(NamedTuple):
    source: str
    tex: str
    display: bool


class Command(NamedTuple):
    name: str  # with its backslash, as written: `\textbf`, `\%`


class Group(NamedTuple):
    children: tuple[Node, ...]
    source: str  # between the braces, as written
    closed: bool  # False: the `{` is never closed (the group runs to the end of the text)


Node = Text | Math | Command | Group


# The converted text: a flat list of these.
class Piece(NamedTuple):
    kind: str  # "text", "math", "open" (a tag), "close"
    text: str = ""  # the text; the math source; the tag name
    href: str = ""  # of an "open" link
    tex: str = ""  # of math
    display: bool = False


def _tie(source: str, at: int) -> str:
    """`~` is a TeX tie (a no-break space) between words, `Fig.~3`; abstracts also use it for "about"
    (`~5x`, `(~20%)`) and ranges (`6~300`), which stay as written."""
    before = source[at - 1] if at else " "
    after = source[at + 1] if at + 1 < len(source) else " "
    if before.isspace() or after.isspace():
        return "~"
    if after.isdigit() and not (before.isalpha() or before == "."):
        return "~"
    return "\u00a0"


@functools.lru_cache(maxsize=16_384)
def parse(source: str) -> tuple[Node, ...]:
    """The text as a tree of text, math, commands and brace groups; never raises."""
    stack: list[tuple[list[Node], int]] = [([], 0)]  # (children, where the group's content starts)
    too_deep = 0  # braces nested deeper than MAX_DEPTH, kept as text
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup
        value = match.group(0)
        children = stack[-1][0]
        if kind == "i1" and value[1].isdigit() and value[-2].isspace():  # `$5 and $10`: prices, no formula
            children.append(Text(value))
        elif kind in ("d1", "i1", "i2", "d2"):
            tex = match.group(kind) or ""
            children.append(Math(value, tex.strip(), kind in ("d1", "d2")))
        elif kind == "url":
            children.append(Text(_ESCAPED.sub(r"\1", value)))
        elif kind in ("word", "symbol"):
            children.append(Command(value))
        elif kind == "open":
            if len(stack) > MAX_DEPTH:
                too_deep += 1
                children.append(Text("{"))
            else:
                stack.append(([], match.end()))
        elif kind == "close":
            if len(stack) == 1 or too_deep:
                too_deep = max(0, too_deep - 1)
                children.append(Text("}"))  # unbalanced: stays as text
            else:
                done, start = stack.pop()
                stack[-1][0].append(Group(tuple(done), source[start:match.start()], True))
        elif kind == "dashes":
            children.append(Text({2: "\u2013", 3: "\u2014"}.get(len(value), value)))
        elif kind == "tilde":
            children.append(Text(_tie(source, match.start())))
        else:
            children.append(Text(value))
    while len(stack) > 1:  # groups never closed
        children, start = stack.pop()
        stack[-1][0].append(Group(tuple(children), source[start:], False))
    return tuple(stack[0][0])


def _is_space(node: Node) -> bool:
    return isinstance(node, Text) and not node.text.strip()


def _argument(nodes: tuple[Node, ...], at: int) -> tuple[int, Group] | None:
    """The closed group that is the argument of the command before `at` (spaces between allowed, as in TeX),
    with its index, or None."""
    while at < len(nodes) and _is_space(nodes[at]):
        at += 1
    node = nodes[at] if at < len(nodes) else None
    return (at, node) if isinstance(node, Group) and node.closed else None


def _after_options(nodes: tuple[Node, ...], at: int) -> int:
    """The index after the optional `[..]` arguments (in text, no braces inside) that start at `at`."""
    for _ in range(2):
        node = nodes[at] if at < len(nodes) else None
        if not (isinstance(node, Text) and node.text.startswith("[")):
            return at
        end = at
        while isinstance(node, Text) and "]" not in node.text:
            end += 1
            node = nodes[end] if end < len(nodes) else None
        if not isinstance(node, Text) or node.text.split("]", 1)[1].strip():
            return at
        at = end + 1
    return at


def _drops_braces(group: Group) -> bool:
    """Whether a bare group's braces are TeX grouping (`{\\em x}`, `{\\'e}`, `{\\deg}`) rather than text
    (`{-1, 0, 1}`, `{\\method}`): only groups that start with a command we know lose their braces."""
    first = next((n for n in group.children if not _is_space(n)), None)
    if isinstance(first, Command):
        return first.name in KNOWN
    return isinstance(first, Group) and first.closed and _drops_braces(first)


def safe_url(url: str) -> str | None:
    """The URL if it is an absolute http(s) URL (the only links made from paper text), else None."""
    url = url.strip()
    return url if _SAFE_URL.fullmatch(url) else None


def printable(text: str) -> str:
    """The text without control characters and what XML cannot hold (whitespace ones, a form feed, become a space)."""
    return _NOT_XML.sub(lambda found: " " if found.group().isspace() else "", text)


class _Converter:
    """Walks the tree into pieces; `html` adds tags and links, plain text writes links out."""

    def __init__(self, html: bool) -> None:
        self.html = html
        self.out: list[Piece] = []
        self.in_link = False

    def text(self, value: str) -> None:
        if value:
            self.out.append(Piece("text", value))

    def tag(self, name: str | None, body: Callable[[], None], href: str = "") -> None:
        if self.html and name:
            self.out.append(Piece("open", name, href=href))
            body()
            self.out.append(Piece("close", name))
        else:
            body()

    def trim(self) -> None:
        """Drop the spaces (and ties) before a dropped citation or a footnote."""
        while self.out and self.out[-1].kind == "text":
            kept = self.out[-1].text.rstrip(" \t\r\n\u00a0")
            if kept:
                self.out[-1] = Piece("text", kept)
                return
            self.out.pop()

    def walk(self, nodes: tuple[Node, ...], in_group: bool = False) -> None:
        at = 0
        while at < len(nodes):
            node = nodes[at]
            at += 1
            if isinstance(node, Text):
                self.text(node.text)
            elif isinstance(node, Math):
                self.out.append(Piece("math", node.source, tex=node.tex, display=node.display))
            elif isinstance(node, Group):
                self.group(node)
            elif node.name in DECLARATIONS and in_group:
                rest = nodes[at:]
                if rest and isinstance(rest[0], Text):  # TeX drops the space after a command word
                    rest = (Text(rest[0].text.lstrip()), *rest[1:])
                self.declaration(DECLARATIONS[node.name], rest)
                return
            else:
                at = self.command(node, nodes, at)

    def declaration(self, tag: str | None, rest: tuple[Node, ...]) -> None:
        self.tag(tag, lambda: self.walk(rest, True))

    def group(self, group: Group, keep_braces: bool = False) -> None:
        if not group.closed:  # the rest of the text: as written, and no declaration reaches past it
            self.text("{")
            self.walk(group.children)
        elif _drops_braces(group) and not keep_braces:
            self.walk(group.children, True)
        else:
            self.text("{")
            self.walk(group.children, True)
            self.text("}")

    def command(self, command: Command, nodes: tuple[Node, ...], at: int) -> int:
        """Converts one command; returns the index of the first node it did not use."""
        name = command.name
        if name in SYMBOLS:
            self.text(SYMBOLS[name])
            following = nodes[at] if at < len(nodes) else None
            if isinstance(following, Group) and following.closed and not following.children:  # `\deg{}`
                return at + 1
            return at
        if name in ACCENTS:
            return self.accent(name, nodes, at)
        if name in CITATIONS:  # `\citep[p.~3][see]{key}`
            at = _after_options(nodes, at)
        found = _argument(nodes, at) if name in KNOWN else None
        if found is None:  # unknown, or missing its argument: as written, and a group right after keeps its braces
            self.text(name)
            following = nodes[at] if at < len(nodes) else None
            if isinstance(following, Group):
                self.group(following, keep_braces=True)
                return at + 1
            return at
        arg, first = found
        after = arg + 1
        if name in FORMATS or name in DECLARATIONS:  # `\bf{x}` as if `\textbf{x}`
            start = len(self.out)
            self.tag(FORMATS.get(name) or DECLARATIONS.get(name), lambda: self.walk(first.children, True))
            if not self.html and name in ("\\textsuperscript", "\\textsubscript"):
                self.script(start, _SUPERSCRIPTS if name == "\\textsuperscript" else _SUBSCRIPTS)
            return after
        if name == "\\color":
            return after
        if name in CITATIONS:
            self.trim()
            return after
        if name == "\\footnote":
            self.trim()
            self.text(" (")
            self.walk(first.children, True)
            self.text(")")
            return after
        if name == "\\url":
            self.link(first.source, lambda: self.text(_ESCAPED.sub(r"\1", first.source).strip()))
            return after
        found = _argument(nodes, after)
        if found is not None:
            second_at, second = found
            if name in LINKS:
                self.link(first.source, lambda: self.walk(second.children, True))
                return second_at + 1
            if name in ("\\textcolor", "\\colorbox"):
                self.walk(second.children, True)
                return second_at + 1
        self.text(name)  # a command missing its second argument: as written
        self.group(first, keep_braces=True)
        return after

    def accent(self, name: str, nodes: tuple[Node, ...], at: int) -> int:
        """`\\'e`, `\\'{e}`, `\\"{\\i}`, `\\v{s}` as one composed character; `\\~{}` as the accent alone."""
        mark, alone = ACCENTS[name]
        following = nodes[at] if at < len(nodes) else None
        base = None
        if isinstance(following, Group) and following.closed:
            inner = following.children
            if not inner:
                self.text(alone)
                return at + 1
            if len(inner) == 1 and isinstance(inner[0], Text) and len(inner[0].text) == 1 and inner[0].text.isalpha():
                base = inner[0].text
            elif len(inner) == 1 and isinstance(inner[0], Command) and inner[0].name in ("\\i", "\\j"):
                base = inner[0].name[1]
            if base is not None:
                self.text(unicodedata.normalize("NFC", base + mark))
                return at + 1
        elif name not in _LETTER_ACCENTS:
            if isinstance(following, Text) and following.text[:1].isalpha():
                self.text(unicodedata.normalize("NFC", following.text[0] + mark))
                self.text(following.text[1:])
                return at + 1
            if isinstance(following, Command) and following.name in ("\\i", "\\j"):
                self.text(unicodedata.normalize("NFC", following.name[1] + mark))
                return at + 1
        self.text(name)  # nothing to put the accent on: as written
        return at

    def script(self, start: int, table: dict[int, int]) -> None:
        """In plain text, `K\\textsuperscript{2}` becomes K² when every character has a superscript form."""
        written = self.out[start:]
        value = "".join(p.text for p in written)
        raised = value.translate(table)
        if value and all(p.kind == "text" for p in written) and all(a != b for a, b in zip(value, raised, strict=True)):
            del self.out[start:]
            self.text(raised)

    def link(self, raw_url: str, body: Callable[[], None]) -> None:
        """A link for an http(s) URL (none inside another link); any other URL leaves only the text."""
        url = safe_url(_ESCAPED.sub(r"\1", raw_url))
        if url is None or self.in_link:
            body()
        elif self.html:
            self.in_link = True
            self.tag("a", body, href=url)
            self.in_link = False
        else:
            start = len(self.out)
            body()
            shown = "".join(p.text for p in self.out[start:])
            if _bare_url(shown) != _bare_url(url):
                self.text(f" ({url})")


def _bare_url(url: str) -> str:
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", url.strip().lower()).rstrip("/")


def _collapse(text: str) -> str:
    """Runs of spaces, tabs and line ends as one space (not str.split(), which also eats no-break and thin
    spaces; str methods, as a regular expression costs ten times more here)."""
    text = text.replace("\n", " ")
    if "\t" in text or "\r" in text or "\f" in text or "\v" in text:
        text = text.translate(_WHITESPACE)
    while "  " in text:
        text = text.replace("  ", " ")
    return text


def _has_markup(source: str) -> bool:
    """Whether the text holds anything to convert (str methods: a regular expression scans 50 times slower)."""
    return "\\" in source or "{" in source or "}" in source or "~" in source or "$" in source or "--" in source


def _convert(source: str, html: bool) -> list[Piece]:
    source = _collapse(source)
    if not _has_markup(source):  # most abstracts: nothing to parse
        return [Piece("text", source)] if source else []
    converter = _Converter(html)
    converter.walk(parse(source))
    return converter.out


@functools.lru_cache(maxsize=16_384)
def pieces(source: str, html: bool = True) -> tuple[Piece, ...]:
    """The converted text as text, math and tag pieces (the tags only when `html`)."""
    return tuple(_convert(source, html))


def truncate(converted: tuple[Piece, ...], limit: int) -> list[Piece]:
    """The first `limit` characters of converted text, cut at a word, never inside a formula, every tag
    closed, with " …" at the end when anything was left out."""
    out: list[Piece] = []
    open_tags: list[str] = []
    used = 0
    for piece in converted:
        if piece.kind == "open":
            open_tags.append(piece.text)
        elif piece.kind == "close":
            open_tags.pop()
        elif used + len(piece.text) > limit:
            if piece.kind == "text":
                room = piece.text[:limit - used + 1]  # a space just after the limit still ends a word there
                cut = room.rsplit(" ", 1)[0] if " " in room else ""
                if not used and not cut:  # one huge word
                    cut = room[:-1]
                out.append(Piece("text", cut))
            break
        else:
            used += len(piece.text)
        out.append(piece)
    else:
        return out
    while out and out[-1].kind == "text" and not out[-1].text.rstrip(" ,;:"):
        out.pop()
    if out and out[-1].kind == "text":
        out[-1] = Piece("text", out[-1].text.rstrip(" ,;:"))
    for name in reversed(open_tags):
        if out and out[-1].kind == "open":  # a tag left empty by the cut: drop it
            out.pop()
        else:
            out.append(Piece("close", name))
    out.append(Piece("text", " \u2026"))
    return out


def _marked(text: str, highlight: re.Pattern[str] | None) -> Markup:
    if highlight is None:
        return escape(text)
    out = Markup()
    last = 0
    for match in highlight.finditer(text):
        out += escape(text[last:match.start()]) + Markup("<mark>{}</mark>").format(match.group(0))
        last = match.end()
    return out + escape(text[last:])


def html_text(source: str | None, *, highlight: re.Pattern[str] | None = None,
              math: Callable[[str, bool], Markup] | None = None, limit: int | None = None) -> Markup:
    """The text as safe HTML: markup converted, everything else escaped, matches of `highlight` in <mark>,
    math through `math(tex, display)` (kept as escaped source without it), cut after `limit` characters."""
    if not source:
        return Markup()
    converted = pieces(source, True)
    parts: list[Markup] = []
    for piece in truncate(converted, limit) if limit is not None else converted:
        if piece.kind == "text":
            parts.append(_marked(piece.text, highlight))
        elif piece.kind == "math":
            parts.append(math(piece.tex, piece.display) if math is not None else escape(piece.text))
        elif piece.kind == "open" and piece.href:
            parts.append(Markup('<a href="{}" rel="nofollow noopener">').format(piece.href))
        else:  # tag names come from FORMATS and DECLARATIONS, never from the text
            parts.append(Markup(f"<{'/' if piece.kind == 'close' else ''}{piece.text}>"))  # noqa: S704
    return Markup("").join(parts)


def _joined(converted: list[Piece] | tuple[Piece, ...]) -> str:
    shown = (p.text if p.kind == "text" else math_text(p.tex) or p.text
             for p in converted if p.kind in ("text", "math"))
    return _collapse("".join(shown)).strip()


def math_as_text(tex: str, display: bool) -> Markup:
    """A formula for HTML that nothing renders (e-mail): its Unicode text (`math_text`), else its source."""
    delimiter = "$$" if display else "$"
    return escape(math_text(tex) or f"{delimiter}{tex}{delimiter}")


@functools.lru_cache(maxsize=16_384)
def plain_text(source: str | None) -> str:
    """The text with its markup converted and no tags; formulas as Unicode text where they read well so (else
    their source); spaces collapsed."""
    return _joined(pieces(source, False)) if source else ""


@functools.lru_cache(maxsize=16_384)
def excerpt(source: str | None, limit: int = EXCERPT_CHARS) -> str:
    """The start of the plain text, at most `limit` characters of it, cut at a word, never inside a formula."""
    return _joined(truncate(pieces(source, False), limit)) if source else ""


# Formulas as text, for where nothing renders them (e-mail, feeds, the command line).
_SCRIPT = re.compile(r"(?P<mark>[\^_])\s*(?:\{(?P<group>[^{}]*)\}|(?P<command>\\[A-Za-z]+(?:\{[^{}]*\})?)"
                     r"|(?P<char>[^\s\\{}]))")
_COMMAND_WORD = re.compile(r"\\([A-Za-z]+)(?=\s|[^\x00-\x7f])")  # and before a raised `\sumᵢ`
_ALL_COMMANDS = re.compile(r"\\([A-Za-z]+)")
# Commands that only style, size or space a formula: pylatexenc keeps what they act on.
_LAYOUT = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "middle", "displaystyle",
           "textstyle", "scriptstyle", "limits", "nolimits", "nonumber", "bm", "boldsymbol", "operatorname", "mathop",
           "mathscr", "mathsf", "mathnormal", "text", "textrm", "mathrm", "rm", "bf", "it", "mathbf", "mathit", "tt"}
_BARE_PERCENT = re.compile(r"(?<!\\)%")  # a percent sign in an abstract, never a TeX comment


@functools.cache
def _formula_context() -> Any:
    """pylatexenc's macros, and `\\texttt{..}`, which it parses but would drop with its argument."""
    context = get_default_latex_context_db()
    context.add_context_category("paperscope-formulas", prepend=True,
                                 macros=[MacroTextSpec("texttt", simplify_repl="%s")])
    return context


@functools.cache
def _formula_decoder() -> LatexNodes2Text:
    return LatexNodes2Text(latex_context=_formula_context(), math_mode="text")


class _NotSimple(Exception):
    pass


def _script(match: re.Match[str]) -> str:
    """`^2` as ², `_{t}` as ₜ where Unicode has every character raised or lowered, else `_post` or `^(d × k)`."""
    inner = match["group"] if match["group"] is not None else match["command"] or match["char"]
    value = math_text(inner) if "\\" in inner else inner
    if value is None:
        raise _NotSimple
    value = value.strip()
    if not value:  # `x^{}`: TeX shows x
        return ""
    table = _MATH_SUPERSCRIPTS if match["mark"] == "^" else _MATH_SUBSCRIPTS
    raised = value.translate(table)
    # Raised letters read well in short scripts only (`20^{th}`, `x_t`; not `Θ_{post}`).
    if all(a != b for a, b in zip(value, raised, strict=True)) and sum(c.isalpha() for c in value) <= 2:
        return raised
    return match["mark"] + (value if value.isalnum() else f"({value})")


@functools.lru_cache(maxsize=16_384)
def math_text(tex: str) -> str | None:
    """A formula as Unicode text when it reads well so: `\\sim 10` as `∼ 10`, `O(n^2 \\log n)` as
    `O(n² log n)`, `\\mathbb{R}^d` as `ℝᵈ`, `\\frac{a}{b}` as `a/b`. None when it holds a command
    pylatexenc does not know and that is not layout (show the source instead)."""
    known = _formula_context()
    for name in _ALL_COMMANDS.findall(tex):
        if name not in _LAYOUT and known.get_macro_spec(name) is None:
            return None
    try:
        # In a formula `'` is a prime (`''` two, not a quote).
        scripted = _SCRIPT.sub(_script, _BARE_PERCENT.sub(r"\\%", tex).replace("'", "′"))
    except _NotSimple:
        return None
    # TeX drops the space after a command word; in a formula it then adds its own (`\\log n`, `\\in X`).
    # Before a raised character the `{}` ends the name, which pylatexenc would read on (`\\sumᵢ`).
    spaced = _COMMAND_WORD.sub(r"\\\1{}", scripted)
    try:
        text: str = _formula_decoder().latex_to_text(spaced)
    except Exception:  # pylatexenc is tolerant; should it still fail, the caller shows the source
        return None
    return _collapse(text).strip() or None
