"""Feeds: what is trending (votes with a recency decay), and RSS/Atom and BibTeX renderings of paper lists."""
