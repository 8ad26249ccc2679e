"""Ingest: every source yields `Entry` records and `Problem` reports; the pipeline stores them."""
