"""Atom and RSS feeds of paper lists (trending, a search, a topic, a user's recommendations), all built here
with feedgen, which escapes every title and abstract; their TeX text markup is converted to plain text (math
stays its source). Characters XML 1.0 cannot hold (control characters such as a form feed from a PDF's text,
lone surrogates) are left out: feedgen would refuse the whole feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Literal

from feedgen.feed import FeedGenerator

from paperscope.models import Paper
from paperscope.text import plain_text, printable, safe_url

FeedFormat = Literal["atom", "rss"]


def paper_feed(papers: Iterable[Paper], *, title: str, description: str, page_url: str, feed_url: str,
               base_url: str, fmt: FeedFormat = "atom", updated: dt.datetime | None = None,
               summaries: Mapping[str, str] | None = None) -> bytes:
    """The papers as an Atom (default) or RSS 2.0 document, newest links pointing at this site. Each entry's
    text is its abstract, or the text `summaries` holds for its id."""
    now = updated or dt.datetime.now(dt.UTC)
    feed = FeedGenerator()
    feed.id(feed_url)
    feed.title(printable(title))
    feed.subtitle(printable(description))
    if fmt == "rss":  # feedgen makes the last link added the RSS channel's <link>: the page, as RSS means it
        feed.link(href=feed_url, rel="self")
        feed.link(href=page_url, rel="alternate")
    else:
        feed.link(href=page_url, rel="alternate")
        feed.link(href=feed_url, rel="self")
    feed.language("en")
    feed.updated(now)
    feed.generator("paperscope")
    base = base_url.rstrip("/")
    for paper in reversed(list(papers)):  # feedgen prepends: add the last first to keep the ranking order
        entry = feed.add_entry()
        url = printable(f"{base}/papers/{paper.id}")
        entry.id(url)
        entry.title(printable(plain_text(paper.title)))
        entry.link(href=url, rel="alternate")
        pdf_url = safe_url(paper.pdf_url or "")  # from the source's data: http(s) only
        if pdf_url:
            entry.link(href=printable(pdf_url), rel="related", type="application/pdf")
        summary = summaries.get(paper.id) if summaries else None
        entry.summary(printable(summary if summary is not None else plain_text(paper.abstract or paper.title)))
        for name in paper.authors[:20]:
            entry.author({"name": printable(name)})
        day = paper.published or paper.updated
        stamp = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else now
        entry.published(stamp)
        entry.updated(dt.datetime.combine(paper.updated, dt.time(), tzinfo=dt.UTC) if paper.updated else stamp)
        for category in paper.categories:
            entry.category(term=printable(category))
    data: bytes = feed.rss_str(pretty=True) if fmt == "rss" else feed.atom_str(pretty=True)
    return data
