"""Routers of the HTML pages (and the BibTeX downloads the pages link to), one per resource."""
