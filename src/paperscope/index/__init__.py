"""Indexes over stored papers: keyword (BM25), vector (approximate nearest neighbours) and their fusion."""
