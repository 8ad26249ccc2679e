"""The web app's routes: one router per resource and interface, all mounted here.

The rule: each module holds one router, for one resource and one interface. `pages/` answers HTML (and the
BibTeX downloads its pages link to), `api/` answers JSON, `feeds.py` answers Atom and RSS; so a resource with
pages and a JSON API has two routers (pages/papers.py and api/papers.py). A router declares its paths below
its interface's prefix ("" for pages, "/api", "/feeds"), and `include_routers` below is the one place that
mounts them, each with that prefix. Routers never import each other: what several share lives in modules
without routes (web/params.py, web/lookups.py, web/votes.py, web/pages.py).

The routers of digests and recommendations need the digest extra; without it they are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from paperscope.web.routes import feeds
from paperscope.web.routes.api import authors as api_authors
from paperscope.web.routes.api import collections as api_collections
from paperscope.web.routes.api import comments as api_comments
from paperscope.web.routes.api import moderation as api_moderation
from paperscope.web.routes.api import notes as api_notes
from paperscope.web.routes.api import notifications as api_notifications
from paperscope.web.routes.api import papers as api_papers
from paperscope.web.routes.api import search as api_search
from paperscope.web.routes.api import status as api_status
from paperscope.web.routes.api import submissions as api_submissions
from paperscope.web.routes.api import topics as api_topics
from paperscope.web.routes.api import trending as api_trending
from paperscope.web.routes.api import webhooks as api_webhooks
from paperscope.web.routes.pages import (
    accounts,
    authors,
    collections,
    comments,
    library,
    moderation,
    notifications,
    papers,
    recommendations,
    search,
    submissions,
    topics,
    trending,
)
from paperscope.web.schemas import ERROR_RESPONSES, PAGE_ERROR_RESPONSES

PAGES, API, FEEDS = "", "/api", "/feeds"

#: (prefix, router) of every resource, in the order requests are matched.
ROUTERS: tuple[tuple[str, APIRouter], ...] = (
    (PAGES, trending.router),
    (PAGES, search.router),
    (PAGES, notifications.router),  # before papers: its /papers/{id}/discussion/... beside the paper page
    (PAGES, papers.router),
    (PAGES, comments.router),
    (PAGES, authors.router),
    (PAGES, accounts.router),
    (PAGES, library.router),
    (PAGES, collections.router),
    (PAGES, submissions.router),
    (FEEDS, feeds.router),
    (PAGES, topics.router),
    (PAGES, recommendations.router),
    (PAGES, moderation.router),
    (API, api_notes.router),  # before papers: its /papers/{id}/note would read as a paper id there
    (API, api_notifications.router),  # before papers, as notes
    (API, api_comments.router),  # before papers, for its /papers/{id}/comments likewise
    (API, api_papers.router),
    (API, api_authors.router),
    (API, api_search.router),
    (API, api_trending.router),
    (API, api_status.router),
    (API, api_collections.router),
    (API, api_submissions.router),
    (API, api_topics.router),
    (API, api_moderation.router),
    (API, api_webhooks.router),
)


def digest_routers() -> tuple[tuple[str, APIRouter], ...]:
    """(prefix, router) of the resources that need the digest extra; ImportError without it."""
    from paperscope.web.routes.api import recommendations as api_recommendations
    from paperscope.web.routes.pages import digests, webhooks

    return (PAGES, digests.router), (PAGES, webhooks.router), (API, api_recommendations.router)


def include_routers(app: FastAPI, *, with_digests: bool) -> Callable[[str], list[str]]:
    """Mount every router on the app with its prefix (the digest routers too when `with_digests`), each route
    documenting its error answers; returns the look-up of the methods an address answers (a 405's Allow)."""
    table: list[tuple[re.Pattern[str], int, set[str]]] = []
    for prefix, router in ROUTERS + (digest_routers() if with_digests else ()):
        app.include_router(router, prefix=prefix,
                           responses=ERROR_RESPONSES if prefix == API else PAGE_ERROR_RESPONSES)
        table += [(compile_path(prefix + route.path)[0], len(re.sub(r"{[^}]*}", "", prefix + route.path)),
                   set(route.methods or ())) for route in router.routes if isinstance(route, APIRoute)]

    def methods_of(path: str) -> list[str]:
        """The methods of the routes that match `path` most closely (the most literal characters: a paper's
        `/vote` rather than the paper page whose `{paper_id:path}` also matches it)."""
        matching = [(literal, methods) for regex, literal, methods in table if regex.match(path)]
        closest = max((literal for literal, _ in matching), default=0)
        return sorted(set().union(*(methods for literal, methods in matching if literal == closest)))

    return methods_of
