"""Rendering paper text: math to MathML from any thread, escaping, highlighting, excerpts."""

from __future__ import annotations

import threading

from paperscope.web.render import excerpt, render_formula, rich_text


def test_math_renders_from_every_thread() -> None:
    # Request handlers run in a pool of threads; KaTeX's runtime must answer all of them.
    results: list[bool] = []
    threads = [threading.Thread(target=lambda i=i: results.append("<msqrt>" in render_formula(rf"\sqrt{{{i}}}")))
               for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 6


def test_text_is_escaped_math_rendered_and_words_marked() -> None:
    html = rich_text(r"<b>Clustering</b> costs $O(n^2)$ \$5", "cluster")
    assert html.startswith("&lt;b&gt;<mark>Clustering</mark>&lt;/b&gt; costs <span class=\"katex\"><math")
    assert html.endswith(r"\$5")
    assert "<script" not in rich_text("$<script>alert(1)</script>$")


def test_bad_or_huge_formulas_stay_readable_source() -> None:
    assert "katex-error" in render_formula(r"\frac{")
    huge = render_formula("x+" * 400)
    assert huge.startswith('<code class="tex">')


def test_excerpts_end_at_a_word_and_never_inside_a_formula() -> None:
    text = "word " * 60 + "$a+b$ tail"
    cut = excerpt(text, limit=305)
    assert cut.endswith(" …") and "$" not in cut
    assert excerpt("short") == "short"
