"""The FastAPI application: `create_app(settings)` wires the store, the search engine, the routers, the
session middleware, static files, error pages and the background jobs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from paperscope import __version__
from paperscope.config import Settings
from paperscope.embed.base import Embedder
from paperscope.errors import DatabaseUnavailable, PaperscopeError, SignInRequired, require_extra
from paperscope.store import Store, open_configured_store
from paperscope.web.bounded import TEXT_LIMIT_ERROR
from paperscope.web.headers import INLINE_STYLES, STYLE_ATTRIBUTES, SecurityHeaders, inline_script_hashes, policy
from paperscope.web.hints import web_message
from paperscope.web.pages import page
from paperscope.web.render import STATIC
from paperscope.web.routes import include_routers
from paperscope.web.security import SESSION_COOKIE
from paperscope.web.services import Services

log = logging.getLogger("paperscope.web")

DESCRIPTION = """The JSON API of a paperscope server: papers, search, trending, topics, votes, collections and
submissions. Read routes need no account. Routes that change something need an API token (create one on your
page, /me) sent as `Authorization: Bearer ps_...`. Every error answers `{"error": {"status", "code", "message"}}`;
lists are pages with `items`, `total` (with `total_is_lower_bound` when the count stopped short of every match),
`limit`, `offset` and `next_offset`."""

ERROR_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 422: "invalid_request", 429: "too_many_requests",
               500: "internal_error", 502: "upstream_failed", 503: "unavailable"}
DATABASE_RETRY_AFTER_SECONDS = 5
TOPIC_PAGES = r"/topics(/[0-9]+)?"  # the pages with the plotly.js map (see web/headers.py)


def create_app(settings: Settings | None = None, *, store: Store | None = None, embedder: Embedder | None = None,
               background_jobs: bool | None = None, separate_worker: bool = False) -> FastAPI:
    """The web app over the store of `settings` (or `store`), with background jobs unless switched off.

    With `separate_worker` the app is one of several web processes beside a `paperscope worker`: the worker
    runs the jobs and writes the index folder; this process only reads it and shows the worker's status."""
    settings = settings or Settings()
    owns_store = store is None
    store = store or open_configured_store(settings)
    services = Services.create(settings, store, embedder=embedder, writes_indexes=not separate_worker)
    run_jobs = settings.background_jobs if background_jobs is None else background_jobs
    if run_jobs:
        from paperscope.jobs import BackgroundJobs, WorkerStatus, status_file

        if separate_worker:
            services.jobs = WorkerStatus(status_file(settings))
        else:
            services.jobs = BackgroundJobs(services.settings, store, services.search.engine,
                                           on_papers_changed=services.trending.invalidate)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services.jobs is not None:
            services.jobs.start()
        try:
            yield
        finally:
            if services.jobs is not None:
                services.jobs.stop()
            if owns_store:
                store.close()

    app = FastAPI(title="paperscope", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.services = services
    docs_policy = _api_docs(app)  # before /static, whose mount would catch /static/docs and /static/plotly
    # Added before the session middleware, so it runs inside it and sees who is signed in.
    app.add_middleware(SecurityHeaders, policies=[("/docs", docs_policy), (TOPIC_PAGES, policy(**INLINE_STYLES)),
                                                  ("/unsubscribe", policy(**STYLE_ATTRIBUTES))])
    app.add_middleware(SessionMiddleware, secret_key=services.secret_key, session_cookie=SESSION_COOKIE,
                       max_age=settings.session_days * 86400, same_site="lax",
                       https_only=settings.base_url.startswith("https://"))
    if proxies := settings.trusted_proxy_list():
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # Outermost, so that every layer sees the forwarded client address and scheme.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    _plotly(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    route_methods = include_routers(app, with_digests=_recommendations(services))
    _error_handlers(app, services, route_methods)
    return app


def web_process_app() -> FastAPI:
    """One web process of `paperscope serve --workers N` (uvicorn's factory): settings from the environment,
    the background jobs in the separate worker process that `serve` started."""
    return create_app(Settings(), separate_worker=True)


def web_process_app_without_jobs() -> FastAPI:
    """One web process of `paperscope serve --workers N --no-jobs`: no worker, indexes only read."""
    return create_app(Settings(), background_jobs=False, separate_worker=True)


def _api_docs(app: FastAPI) -> str:
    """Swagger UI at /docs from files we serve (the fastapi-offline package's copy), never from a CDN; returns
    the page's Content-Security-Policy, which allows its one inline script by hash."""
    from pathlib import Path

    from fastapi.openapi.docs import get_swagger_ui_html

    fastapi_offline = require_extra("fastapi_offline", "web", "The API docs page")
    assets = Path(str(fastapi_offline.__file__)).with_name("static")
    app.mount("/static/docs", StaticFiles(directory=assets), name="docs-static")

    page = get_swagger_ui_html(openapi_url="/openapi.json", title="paperscope API",
                               swagger_js_url="/static/docs/swagger-ui-bundle.js",
                               swagger_css_url="/static/docs/swagger-ui.css",
                               swagger_favicon_url="/static/docs/favicon.png")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return Response(page.body, media_type="text/html")

    return policy(script_src=" ".join(["'self'", *inline_script_hashes(bytes(page.body).decode())]))


def _recommendations(services: Services) -> bool:
    """Give the services their recommender when the digest extra is installed; whether it is."""
    try:
        from paperscope.web.recommendations import RecommendationCache
    except ImportError as exc:
        services.notes.append(f"Digest pages are off: {exc}. Install them with: pip install 'paperscope[digest]'")
        return False
    services.recommendations = RecommendationCache()
    return True


def _plotly(app: FastAPI) -> None:
    """plotly.js for the topic map, served from the plotly package's own copy (no CDN)."""
    from pathlib import Path

    from fastapi.responses import FileResponse

    plotly = require_extra("plotly", "web", "The topic map")
    script = Path(str(plotly.__file__)).with_name("package_data") / "plotly.min.js"

    @app.get("/static/plotly/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(script, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def _error(request: Request, services: Services, status: int, message: str,
           headers: Mapping[str, str] | None = None) -> Response:
    message = message.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate quoted from the input
    if _wants_json(request):
        code = ERROR_CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))
        return JSONResponse({"error": {"status": status, "code": code, "message": message}}, status_code=status,
                            headers=headers)
    title = HTTPStatus(status).phrase
    response = page(request, services, "error.html", {"title": title, "message": message}, status_code=status)
    if headers:
        response.headers.update(headers)
    return response


def _error_handlers(app: FastAPI, services: Services, route_methods: Callable[[str], list[str]]) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return _error(request, services, exc.status_code, message, exc.headers)

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def starlette_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = exc.headers
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = f"There is nothing at {request.url.path}."
        elif exc.status_code == 405:  # name every method of the address, not only those of the first route
            allowed = route_methods(request.url.path)
            message = f"{request.url.path} answers {', '.join(allowed)}, not {request.method}."
            headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        else:
            message = str(exc.detail)
        return _error(request, services, exc.status_code, message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        in_path = [e for e in errors if e.get("loc", ("",))[0] == "path"]
        if in_path:  # an id no record can have (or no id at all): there is nothing at this address
            return _error(request, services, 404, f"There is nothing at {request.url.path}: "
                          + "; ".join(_describe(e) for e in in_path))
        return _error(request, services, 422, "; ".join(_describe(e) for e in errors))

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        from urllib.parse import quote

        target = exc.next_path if request.method == "GET" else request.headers.get("referer", "/")
        return RedirectResponse(f"/signin?next={quote(_local(target))}", status_code=303)

    @app.exception_handler(DatabaseUnavailable)
    async def database_unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
        log.warning("%s", exc)
        return _error(request, services, 503, "The database cannot be reached just now; try again in a few seconds.",
                      {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})

    @app.exception_handler(PaperscopeError)
    async def paperscope_error(request: Request, exc: PaperscopeError) -> Response:
        return _error(request, services, 400, web_message(exc))


def _local(target: str) -> str:
    from paperscope.web.security import safe_next

    if "://" in target:
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(target)


def _describe(error: dict[str, Any]) -> str:
    if error.get("type") == TEXT_LIMIT_ERROR:  # its message names the field
        return str(error.get("msg"))
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "form"))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
