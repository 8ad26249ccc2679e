"""The cost of showing TeX text markup (paperscope.text) per abstract, over the real arXiv cs listings, beside
plain `html.escape` of the same text (the baseline, measured in the same run).

    nice -n 5 python bench/bench_text.py [--repeat 3]

Every figure is a mean over all abstracts, best of `--repeat` passes, caches cleared before each pass (so every
call converts; pages then hit the caches). KaTeX is not run here (it costs the same before and after); the
plain text and the e-mail HTML read formulas as Unicode text (`math_text`, pylatexenc), which is measured.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable

from benchlib import ARXIV_CS, arguments
from paperscope import text
from paperscope.web import render

LISTINGS = ARXIV_CS
# The baseline of the conversion: only the text between formulas escaped, formulas kept as they are.
_BEFORE = re.compile(text.MATH.pattern, re.DOTALL)


def abstracts() -> list[str]:
    """Each paper's abstract once (a paper appears in the listings of several days)."""
    found: dict[str, str] = {}
    for path in sorted(LISTINGS.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    found.setdefault(record["id"], record["summary"])
    return list(found.values())


def before(source: str) -> str:
    return "".join(html.escape(part) if i % 5 == 0 else "" for i, part in enumerate(_BEFORE.split(source)))


def per_call(convert: Callable[[str], object], sources: list[str], repeat: int) -> float:
    """Microseconds per abstract, best of `repeat` passes."""
    best = float("inf")
    for _ in range(repeat):
        text.parse.cache_clear()
        text.pieces.cache_clear()
        text.plain_text.cache_clear()
        text.excerpt.cache_clear()
        text.math_text.cache_clear()
        start = time.perf_counter()
        for source in sources:
            convert(source)
        best = min(best, time.perf_counter() - start)
    return best / len(sources) * 1e6


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sources = abstracts()
    changed = sum(text.plain_text(s) != " ".join(s.split()) for s in sources)
    mean = sum(map(len, sources)) / len(sources)
    print(f"{len(sources):,} abstracts from {LISTINGS.relative_to(LISTINGS.parents[3])}, mean {mean:.0f} characters; "
          f"the plain text of {changed:,} ({changed / len(sources):.0%}) differs from the source")
    baseline = per_call(html.escape, sources, args.repeat)
    rows = [
        ("html.escape (baseline)", baseline),
        ("text between formulas escaped (the pages before)", per_call(before, sources, args.repeat)),
        ("html_text: whole abstract (paper page)", per_call(text.html_text, sources, args.repeat)),
        ("html_text, limit=320 (listing excerpt)",
         per_call(lambda s: text.html_text(s, limit=text.EXCERPT_CHARS), sources, args.repeat)),
        ("plain_text (feeds, e-mail text)", per_call(text.plain_text, sources, args.repeat)),
        ("excerpt (e-mail text)", per_call(text.excerpt, sources, args.repeat)),
        ("html_text, limit=320, formulas as text (e-mail HTML)",
         per_call(lambda s: text.html_text(s, math=text.math_as_text, limit=text.EXCERPT_CHARS), sources,
                  args.repeat)),
    ]
    query = render.highlighter("language models")
    rows.append(("html_text, limit=320, query marked (search page)",
                 per_call(lambda s: text.html_text(s, highlight=query, limit=text.EXCERPT_CHARS), sources,
                          args.repeat)))
    print(f"{'':52} {'µs/abstract':>12} {'× baseline':>11}")
    for name, micros in rows:
        print(f"{name:52} {micros:12.1f} {micros / baseline:11.1f}")
    # A page of 25 cards shown again: the cached rich_text.
    page = sources[:25]
    for source in page:
        render.rich_text(source, None, text.EXCERPT_CHARS)
    start = time.perf_counter()
    for _ in range(200):
        for source in page:
            render.rich_text(source, None, text.EXCERPT_CHARS)
    cached = (time.perf_counter() - start) / (200 * len(page)) * 1e6
    print(f"{'rich_text excerpt, cached (a page shown again)':52} {cached:12.2f} {cached / baseline:11.2f}")


if __name__ == "__main__":
    main()
