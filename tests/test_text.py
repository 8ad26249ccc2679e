"""TeX text markup in titles and abstracts, shown as HTML and as plain text (paperscope.text).

Each rule on small strings of our own; escaping and injection; unbalanced input; unknown macros kept; a
hypothesis property over markup-shaped text; and the real arXiv listings, none of which keeps the common markup
in its plain text."""

from __future__ import annotations

import html
import json
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from paperscope.text import excerpt, html_text, math_as_text, math_text, plain_text
from tests.conftest import shared_path

NBSP, THIN = "\u00a0", "\u2009"


@pytest.mark.parametrize(("source", "expected"), [
    (r"\textbf{LLMs}", "<strong>LLMs</strong>"),
    (r"\textit{a} \emph{b} {\em c} {\it d} {\bf e}", "<em>a</em> <em>b</em> <em>c</em> <em>d</em> <strong>e</strong>"),
    (r"\underline{Hyp}erbolic", "<u>Hyp</u>erbolic"),
    (r"\texttt{pip install x}", "<code>pip install x</code>"),
    (r"K\textsuperscript{2} and H\textsubscript{2}O", "K<sup>2</sup> and H<sub>2</sub>O"),
    (r"\textsc{Turbo} {\sc Turbo} \textcolor{red}{warm} \text{plain}", "Turbo Turbo warm plain"),
    (r"\textbf{\color{ddt}D}ecoupled", "<strong>D</strong>ecoupled"),
    (r"\textbf{\textit{both}}", "<strong><em>both</em></strong>"),
    (r"{{\large {\textbf{F}}}}aster", "<strong>F</strong>aster"),
    (r"{\it \textbf{first}} one", "<em><strong>first</strong></em> one"),
])
def test_formatting_becomes_tags(source: str, expected: str) -> None:
    assert html_text(source) == expected
    assert plain_text(source) == re.sub(r"<[^>]+>", "", expected).replace("K2", "K²").replace("H2O", "H₂O")


@pytest.mark.parametrize(("source", "expected"), [
    (r"up to 20\% in Q\&A with \_ and \#1 for \$5 \{x\}", "up to 20% in Q&A with _ and #1 for $5 {x}"),
    ("pages 4--8 --- roughly", "pages 4\u20138 \u2014 roughly"),
    (r"avg.\ 86\,min", f"avg. 86{THIN}min"),
    (r"tasks (\eg, parsing), \ie one, Smith \etal", "tasks (e.g., parsing), i.e. one, Smith et al."),
    (r"360{\deg} and 90\deg{} turns", "360° and 90° turns"),
    (r"Fr\'echet, {\'e}t\'e, n\~ao, na\"{\i}ve, d\'ej\`a, h\^otel, Toma\v{s}ev",
     "Fréchet, été, não, naïve, déjà, hôtel, Tomašev"),
    (r"a DMPlug~\cite{wang2024} step, see \citep[p.~3]{a,b}.", "a DMPlug step, see."),
    (r"effective\footnote{Code is public.} method", "effective (Code is public.) method"),
    (r"10 {\mu}m, 0.60 \pm 0.05", "10 μm, 0.60 ± 0.05"),
])
def test_characters_and_dropped_commands(source: str, expected: str) -> None:
    assert plain_text(source) == expected
    assert html_text(source) == html.escape(expected, quote=False)


def test_ties_are_no_break_spaces_between_words_but_approximations_stay() -> None:
    assert plain_text(r"Fig.~3 and MedSAM~2 and Transformer~(ViT)") == \
        f"Fig.{NBSP}3 and MedSAM{NBSP}2 and Transformer{NBSP}(ViT)"
    assert plain_text("costs ~5x less (~20%), a 6~300x range, 1.3x ~ 1.7x") == \
        "costs ~5x less (~20%), a 6~300x range, 1.3x ~ 1.7x"


def test_links_only_for_http_urls() -> None:
    assert html_text(r"Code: \href{https://github.com/a/b\_c}{here}.") == \
        'Code: <a href="https://github.com/a/b_c" rel="nofollow noopener">here</a>.'
    assert html_text(r"\url{http://x.org/~u--v}") == \
        '<a href="http://x.org/~u--v" rel="nofollow noopener">http://x.org/~u--v</a>'
    # plain text writes the address out unless the text already is it
    assert plain_text(r"\href{https://x.org/p}{the page}") == "the page (https://x.org/p)"
    assert plain_text(r"\href{https://x.org/p}{\texttt{x.org/p}}") == "x.org/p"
    assert plain_text(r"at https://github.com/foo--bar/~x\_y.") == "at https://github.com/foo--bar/~x_y."
    # anything but http(s) stays text
    for source in (r"\href{javascript:alert(1)}{click}", r"\href{data:text/html,<b>}{click}",
                   r"\href{ftp://x.org}{click}", r'\href{https://x.org/"onmouseover="alert(1)}{click}'):
        assert html_text(source) == "click"
    assert html_text(r"\url{javascript:alert(1)}") == "javascript:alert(1)"


def test_everything_is_escaped_and_no_tag_comes_from_the_text() -> None:
    out = html_text(r'<script>alert(1)</script> \textbf{<img src=x onerror="alert(2)">} \textcolor{"><b>}{x}')
    assert isinstance(out, Markup)
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    assert out.startswith("&lt;script&gt;alert(1)&lt;/script&gt; <strong>&lt;img src=x onerror=")
    assert plain_text("<script>x</script>") == "<script>x</script>"  # plain text is not HTML: its users escape it


def test_unknown_macros_stay_exactly_as_written() -> None:
    source = r"we propose \name{}, and \method{X} beats \ModelName\ on \r{ho} and {-1, 0, 1} and \n\n"
    assert plain_text(source) == \
        r"we propose \name{}, and \method{X} beats \ModelName on \r{ho} and {-1, 0, 1} and \n\n"
    assert plain_text(r"\foo{\textbf{x}}") == r"\foo{x}"  # its argument keeps its braces, converted inside


@pytest.mark.parametrize("source", [
    r"\textbf{never closed and the rest of the abstract", "closing } first {", r"\href{https://x.org}",
    r"\textcolor{red}", "\\", "{" * 200 + "deep" + "}" * 200, "}" * 5 + "{" * 5, r"\'", r"\footnote", "$", "$$x",
])
def test_unbalanced_input_keeps_every_character(source: str) -> None:
    text = plain_text(source)
    assert re.sub(r"\W", "", source) in re.sub(r"\W", "", text) or text == source.strip()
    assert str(html_text(source)).count("<") == str(html_text(source)).count(">")


def test_an_unclosed_group_does_not_swallow_the_rest() -> None:
    out = html_text(r"A \textbf{broken and \emph{this} is fine")
    assert out == r"A \textbf{broken and <em>this</em> is fine"


def test_excerpt_counts_converted_text_cuts_at_words_and_keeps_tags_balanced() -> None:
    source = r"\textbf{Large} models (\textbf{LLMs}) improve by 20\% " + r"\emph{with many words} " * 30
    cut = excerpt(source, limit=80)
    assert cut.startswith("Large models (LLMs) improve by 20% with many words") and cut.endswith(" …")
    assert 70 <= len(cut) - 2 <= 80
    assert excerpt(source, limit=10_000) == plain_text(source)
    out = html_text(source, limit=80)
    assert out.count("<em>") == out.count("</em>") and out.count("<strong>") == out.count("</strong>")
    linked = r"a \href{https://x.org}{link text} " + "z " * 50
    assert excerpt(linked, limit=6) == "a link …" and excerpt(linked, limit=4) == "a …"
    assert "<a" not in html_text(linked, limit=4)  # a tag the cut left empty is dropped


def test_math_is_left_to_the_caller_in_html_and_read_as_text_in_plain_text() -> None:
    source = r"bound \textbf{$O(n^2)$ when \%} and $a\%b$, but $\myop{x}$"
    assert plain_text(source) == r"bound O(n²) when % and a%b, but $\myop{x}$"
    assert html_text(source, math=lambda tex, display: Markup("<math>{}</math>").format(tex)) == \
        r"bound <strong><math>O(n^2)</math> when %</strong> and <math>a\%b</math>, but <math>\myop{x}</math>"
    assert html_text(source, math=math_as_text) == \
        r"bound <strong>O(n²) when %</strong> and a%b, but $\myop{x}$"
    assert html_text("$x<y$ and $$\\unknown<b>$$", math=math_as_text) == "x&lt;y and $$\\unknown&lt;b&gt;$$"
    prices = "from $5 and $10 to $x$"  # a dollar before a number and one after a space: prices, not a formula
    assert plain_text(prices) == "from $5 and $10 to x"
    assert html_text(prices, math=lambda tex, display: Markup("<math>{}</math>").format(tex)) == \
        "from $5 and $10 to <math>x</math>"


@pytest.mark.parametrize(("tex", "expected"), [
    (r"\sim 10", "∼ 10"),
    (r"O(n^2 \log n)", "O(n² log n)"),  # the space TeX drops after a command word, a formula puts back
    (r"d = \Omega(\log" "\n" "n)", "d = Ω(log n)"),
    (r"1.8\times10^{8}", "1.8×10⁸"),
    (r"10^{-3}", "10⁻³"),
    (r"\mathbb{R}^d", "ℝᵈ"),
    (r"x \in \mathbb{R}^{d \times k}", "x ∈ ℝ^(d × k)"),  # no raised ×: the script keeps its grouping
    (r"\sum_{i=1}^{n} x_i", "∑ᵢ₌₁ⁿ xᵢ"),
    (r"20^{th}", "20ᵗʰ"),
    (r"\Theta_\text{post}", "Θ_post"),  # long raised words read badly
    (r"W^\top", "Wᵀ"),
    (r"f'' + g^{\prime}", "f′′ + g′"),  # primes, not quotes
    (r"\frac{a}{b}", "a/b"),
    (r"\sqrt{d}", "√(d)"),
    (r"\mathcal{O}(N)", "𝒪(N)"),
    (r"\textbf{16.3%}", "16.3%"),  # a percent sign, not a TeX comment
    (r"\{(\texttt{patch}, \texttt{ID})\}", "{(patch, ID)}"),
    (r"\left(x\right)", "(x)"),
    (r"\bm{x}_t", "xₜ"),
    (r"x^{}_{ }y", "xy"),
    (r"\myop{x}", None),  # a command of the author's own: the source is shown
    (r"\bW_1", None),
    (r"a_\myop", None),
])
def test_formulas_read_as_unicode_text(tex: str, expected: str | None) -> None:
    assert math_text(tex) == expected


def test_real_formulas_read_as_text_or_are_left_as_written() -> None:
    folder = shared_path("data", "arxiv", "cs")
    formula = re.compile(r"(?<!\\)\$(?P<tex>[^$]+?)(?<!\\)\$")
    read = kept = 0
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for match in formula.finditer(json.loads(line)["summary"]):
                text = math_text(match["tex"])
                if text is None:
                    kept += 1
                    continue
                read += 1
                assert "\\" not in text, (match["tex"], text)  # no command survives half-converted
                digits = [c for c in match["tex"] if c.isdigit()]
                assert len([c for c in unicodedata.normalize("NFKC", text) if c.isdigit()]) == len(digits), \
                    (match["tex"], text)
    assert read > 900 and kept < read / 10


def test_highlighting_marks_words_in_converted_text() -> None:
    pattern = re.compile(r"\b(?:llms)\w*", re.IGNORECASE)
    assert html_text(r"(\textbf{LLMs}) and llms", highlight=pattern) == \
        "(<strong><mark>LLMs</mark></strong>) and <mark>llms</mark>"


# The property: markup-shaped text never raises, never yields a tag that is not ours, and keeps every word
# that is not a command's name (commands whose argument is dropped, cite/color/href, are left out here).
WORDS = st.from_regex(r"[a-z0-9]{3,8}", fullmatch=True)
MARKUP = st.sampled_from([
    "\\textbf{", "\\textit{", "\\emph{", "{\\em ", "{\\bf ", "\\underline{", "\\texttt{", "\\textsuperscript{",
    "\\footnote{", "\\url{", "\\textsc{", "{", "}", "}", "\\%", "\\&", "\\_", "--", "---", "~", " ~", "\\'", '\\"',
    "\\~", "\\v{", "\\eg", "\\deg", "{\\deg}", "\\ ", "\\,", "$", "$$", "\\(", "\\)", "\\foo", "\\name{}", "\\\\",
    "<script>", "&amp;", '"', "https://x.org/", " ", " ", "\n", "[", "]",
])
TEXTS = st.lists(WORDS | MARKUP, max_size=30)
OUR_TAGS = re.compile(r'<(?:/?(?:strong|em|u|code|sup|sub|mark|a)|a href="https?://[^"<>]*" rel="nofollow noopener")>')


def _letters(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isalnum())


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(parts=TEXTS)
def test_any_markup_never_raises_never_injects_never_loses_words(parts: list[str]) -> None:
    source = "".join(parts)
    plain = plain_text(source)
    out = str(html_text(source, highlight=re.compile(r"\b[a-z]\w*"), limit=len(source) // 2 + 5))
    full = str(html_text(source))
    assert OUR_TAGS.sub("", out).count("<") == 0 and OUR_TAGS.sub("", full).count("<") == 0
    shown = _letters(plain)
    shown_html = _letters(html.unescape(re.sub(r"<[^>]+>", "", full)))
    words = [w for i, w in enumerate(parts) if re.fullmatch(r"[a-z0-9]+", w)
             and not (i and re.search(r"\\[A-Za-z]*$", "".join(parts[:i])))]  # not glued to a command name
    for word in words:
        assert word in shown and word in shown_html


def test_real_abstracts_keep_no_common_markup_in_plain_text() -> None:
    folder = shared_path("data", "arxiv", "cs")
    left = re.compile(r"\\(?:textbf|textit|emph|underline|texttt|cite|citep|url)\{|\\[%&_#]|\{\\(?:em|it|bf|deg)\b")
    checked = 0
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for source in (record["summary"], record["title"]):
                text = plain_text(source)
                outside_math = re.sub(r"(?<!\\)\$\$.+?(?<!\\)\$\$|(?<!\\)\$[^$]+?(?<!\\)\$|\\\(.+?\\\)|\\\[.+?\\\]",
                                      "", text, flags=re.DOTALL)
                found = left.search(outside_math)
                # Only markup the author left unbalanced may stay (it is kept as written, never lost).
                assert found is None or source.count("{") != source.count("}"), (record["id"], found.group(0))
                checked += 1
    assert checked > 30_000
