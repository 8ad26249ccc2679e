"""One router per resource: pages first, then the JSON API under /api."""
