"""Schema-driven fuzzing of the whole web app (Schemathesis against /openapi.json): every operation, the JSON
API, the pages and the feeds, anonymous and signed in with an API token, on the web tests' real database
(tests/web_support.py) plus a user with collections.

The properties are Schemathesis' own checks, all of them: no answer is a server error; every status code, content
type, header and JSON body is one /openapi.json documents for the operation; a 405 lists the methods the address
takes; data the schema forbids is refused; data it allows is never refused as invalid (422; a 400 says what a schema
cannot, such as a day outside the calendar or a name already in use: tests/schemathesis.toml).

The suite runs a bounded, fixed set of cases (8 per operation and mode, under a minute on two cores). A longer run
explores new cases each time:
    PAPERSCOPE_API_FUZZ_EXAMPLES=100 python -m pytest tests/test_api_fuzz.py -q -s   # -s prints the request count
docs/benchmarks.md ("Fuzzing") records what the runs found.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from paperscope.config import Settings
from paperscope.store import open_store
from tests.web_support import HOSTILE_ID, build_site

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

EXAMPLES = int(os.environ.get("PAPERSCOPE_API_FUZZ_EXAMPLES") or 8)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("PAPERSCOPE_API_FUZZ_EXAMPLES"),
                suppress_health_check=list(HealthCheck))


# 422 answers what the schema rules out; 400 what it cannot express (a day outside the calendar the pages show,
# a collection name in use, an arXiv id that is no id): schema-valid data may get 400, never 422.
CONFIG = schemathesis.Config.from_path(str(Path(__file__).with_name("schemathesis.toml")))


@pytest.fixture(scope="module")
def fuzzed_site(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The web tests' database, with a user who owns an API token, a private and a public collection."""
    folder = tmp_path_factory.mktemp("fuzzed")
    settings_ = build_site(folder)
    # Submissions fetch from arXiv: point them at a closed local port so each fails at once.
    return settings_.model_copy(update={"arxiv_api_url": "http://127.0.0.1:9/api/query"})


@pytest.fixture(scope="module")
def api_token(fuzzed_site: Settings) -> str:
    with open_store(fuzzed_site.database_url) as store:
        user = store.accounts.create_user("fuzzer@example.org", password_hash=None)
        store.accounts.create_collection(user.id, "Private notes", description="mine")
        store.accounts.create_collection(user.id, "Shared", public=True)
        _, secret = store.sessions.create_api_token(user.id, "fuzzing")
    return secret


class CountingApp:
    """The app, counting the requests that reach it (every case, and the extra requests some checks send)."""

    def __init__(self, app: FastAPI) -> None:
        self.app, self.requests = app, 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def web_app(fuzzed_site: Settings) -> Iterator[CountingApp]:
    from paperscope.web import create_app

    counting = CountingApp(create_app(fuzzed_site))
    yield counting
    print(f"\nAPI fuzzing: {counting.requests} requests, {EXAMPLES} examples per operation and mode")


@pytest.fixture(scope="module")
def api_schema(web_app: CountingApp) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", web_app, config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@FUZZ
def test_anonymous(case: schemathesis.Case) -> None:
    case.call_and_validate()


@schema.parametrize()
@FUZZ
def test_signed_in_with_an_api_token(case: schemathesis.Case, api_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {api_token}"})




# What the fuzzer found, pinned ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(web_app: CountingApp) -> Iterator[TestClient]:
    with TestClient(web_app.app) as test_client:
        yield test_client


def test_every_operation_documents_its_error_answers(client: TestClient) -> None:
    """Found: 45 operations answered statuses or content types /openapi.json did not list (403 for a form
    without its CSRF token, the HTML error pages, the sign-in redirect)."""
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("400", "404", "422"):
                content = responses[status]["content"]
                if path.startswith("/api/"):
                    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
                else:
                    assert "text/html" in content, (method, path, status)
            if not path.startswith("/api/"):
                assert {"303", "403"} <= set(responses), (method, path)


def test_a_405_names_every_method_of_the_address(client: TestClient) -> None:
    """Found: `Allow` listed the methods of the first route only (GET /signup, though POST /signup exists)."""
    for path, allowed in [("/signup", "GET, POST"), ("/api/collections", "GET, POST"),
                          ("/api/collections/1", "DELETE, GET"), (f"/papers/{HOSTILE_ID}/vote", "POST"),
                          (f"/api/papers/{HOSTILE_ID}", "GET")]:
        response = client.request("PATCH", path)
        assert response.status_code == 405 and response.headers["allow"] == allowed, (path, response.headers)


def test_request_bodies_take_only_the_types_the_schema_gives(client: TestClient, api_token: str) -> None:
    """Found: `{"public": 0}` was read as false and `{"up": "yes"}` as true."""
    auth = {"Authorization": f"Bearer {api_token}"}
    for path, method, body in [("/api/collections", "POST", {"name": "Typed", "public": 0}),
                               (f"/api/papers/{HOSTILE_ID}/vote", "PUT", {"up": "yes"}),
                               ("/api/submissions", "POST", {"arxiv_id": 2503.11731})]:
        response = client.request(method, path, json=body, headers=auth)
        assert response.status_code == 422, (path, response.text)


def test_the_map_points_schema_is_plain_json_schema(client: TestClient) -> None:
    """Found: the points of /api/topics/map were documented with `prefixItems`, which OpenAPI tools reading
    3.0-style schemas reject as an invalid schema."""
    points = client.get("/openapi.json").json()["components"]["schemas"]["MapOut"]["properties"]["points"]
    assert points["items"]["type"] == "array" and isinstance(points["items"]["items"], dict)
    assert "prefixItems" not in points["items"]
    sample = client.get("/api/topics/map").json()["points"][0]
    assert len(sample) == 6 and isinstance(sample[0], str)
