"""Routers of the JSON API, one per resource, mounted under /api."""
