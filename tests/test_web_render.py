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
    assert html.endswith(" $5")  # an escaped dollar is a dollar sign, not the start of a formula
    assert "<script" not in rich_text("$<script>alert(1)</script>$")


def test_bad_or_huge_formulas_stay_readable_source() -> None:
    assert "katex-error" in render_formula(r"\frac{")
    huge = render_formula("x+" * 400)
    assert huge.startswith('<code class="tex">')


def test_excerpts_end_at_a_word_and_never_inside_a_formula() -> None:
    text = "word " * 60 + "$a^2+b$ tail"
    cut = excerpt(text, limit=303)  # the formula would cross the limit: the excerpt ends before it
    assert cut.endswith("word …") and "a" not in cut
    assert excerpt(text, limit=308).endswith("word a²+b …")  # it fits: whole, read as text
    assert excerpt("short") == "short"
    html = rich_text(text, limit=303)
    assert html.endswith("word …") and "<math" not in html
    assert "<math" in rich_text(text, limit=308)


def test_excerpts_count_the_converted_text_and_keep_tags_balanced() -> None:
    text = r"\textbf{Bold words here} and then 20\% more " + r"\emph{lots of emphasised words} " * 10
    html = rich_text(text, limit=60)
    assert html.startswith("<strong>Bold words here</strong> and then 20% more <em>lots")
    assert html.count("<em>") == html.count("</em>") and html.endswith(" …")
    # 60 characters of what the reader sees, not of the TeX source
    assert len(excerpt(text, limit=60).removesuffix(" …")) > 50


def test_markup_is_converted_and_search_terms_still_marked() -> None:
    html = rich_text(r"Large Language Models (\textbf{LLMs}) cost 20\% less", "llms")
    assert "(<strong><mark>LLMs</mark></strong>) cost 20% less" in html
    assert "<math" in rich_text(r"\textbf{bound $O(n)$ holds}")  # math inside markup still rendered
