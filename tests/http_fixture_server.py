"""A scripted HTTP server on 127.0.0.1 for tests of network sources, built on the stdlib's http.server.

Tests point a setting such as `arxiv_api_url` at `server.url + "/path"` and script the answers:

    server.reply("/api/query", Reply(503), Reply(200, FEED))      # answered in this order
    server.route("/api/query", lambda request: Reply(200, page_for(request.param("start"))))

Every request is recorded (`server.requests`) with its path, query parameters and arrival time, so tests
can assert on paging parameters and on the spacing between requests. Use it through the pytest fixture
`fixture_server` (import it into a conftest or a test module), or as a context manager.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

import pytest

ANY_PATH = "*"


@dataclass(frozen=True)
class Reply:
    """One scripted answer; `delay` seconds pass before the server answers (to provoke timeouts)."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def content(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Request:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    arrived: float  # time.monotonic() when the request line was read
    body: bytes = b""  # what a POST sent

    def param(self, name: str) -> str | None:
        """The (first) value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None


Handler = Callable[[Request], Reply]


class FixtureServer:
    """A threaded HTTP server on a free port of 127.0.0.1 that answers from a script."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Reply]] = {}
        self._routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._httpd = _Server(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fixture-http-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL, e.g. "http://127.0.0.1:54321" (no trailing slash)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, path: str, *replies: Reply) -> None:
        """Queue answers for `path` (or ANY_PATH), each used once, in order."""
        with self._lock:
            self._queues.setdefault(path, deque()).extend(replies)

    def route(self, path: str, handler: Handler) -> None:
        """Answer every request to `path` (or ANY_PATH) that finds no queued reply by calling `handler`."""
        with self._lock:
            self._routes[path] = handler

    def requests_to(self, path: str) -> list[Request]:
        """The recorded requests to one path, in arrival order."""
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FixtureServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            for key in (request.path, ANY_PATH):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            handler = self._routes.get(request.path) or self._routes.get(ANY_PATH)
        if handler is not None:
            return handler(request)
        return Reply(404, f"fixture server: no reply scripted for {request.method} {request.path}",
                     {"Content-Type": "text/plain"})


def assert_spaced(arrivals: list[float], interval: float) -> None:
    """The requests went out at least `interval` seconds apart. Arrivals are stamped by the server's thread, which
    a loaded machine may run late, shortening the gap after a late one (to 0.13 s of PubMed's 0.33 on two busy
    cores): so the span of all requests is held to the interval, single gaps only to not being back to back."""
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) * interval - 0.1, gaps
    assert min(gaps) >= min(0.05, interval / 4), gaps


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping in a delay must not hold up close()

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (timeout test) closes the socket under a delayed reply: not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _make_handler(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            arrived = time.monotonic()
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                              dict(self.headers.items()), arrived, body)
            try:
                reply = server._answer(request)
            except Exception as exc:  # a broken test handler: answer 500 so the test sees a clear message
                reply = Reply(500, f"fixture server handler failed: {exc!r}")
            if reply.delay:
                time.sleep(reply.delay)
            content = reply.content()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean; requests are recorded instead

    return _Handler


@pytest.fixture(name="fixture_server")  # named, so that importing it under another name still registers it
def fixture_server() -> Iterator[FixtureServer]:
    """A running FixtureServer, closed after the test."""
    with FixtureServer() as server:
        yield server
