"""The one HTTP client (paperscope.http.PoliteClient) through httpx's MockTransport: retries with backoff,
Retry-After, refusals, and the offline message; the LLM client words the same failures its own way."""

from __future__ import annotations

import httpx
import pytest

from paperscope.errors import LLMServiceError, OfflineError, SourceError
from paperscope.http import PoliteClient
from paperscope.llm import ChatClient


def answers(*replies: int | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering each request with the next status (or raising the next exception)."""
    seen: list[httpx.Request] = []
    queue = list(replies)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return httpx.Response(reply, json={"choices": [{"message": {"content": "hi"}}]}, request=request)

    return httpx.MockTransport(handle), seen


def test_transient_failures_are_retried_and_refusals_are_not() -> None:
    transport, seen = answers(503, httpx.ReadTimeout("slow"), 200)
    with PoliteClient(name="the source", retries=2, backoff=0.001, transport=transport) as client:
        assert client.get("https://example.org/x").status_code == 200
    assert len(seen) == 3 and seen[0].headers["User-Agent"].startswith("paperscope/")

    transport, seen = answers(404, 200)
    with PoliteClient(name="the source", retries=2, backoff=0.001, transport=transport) as client, \
            pytest.raises(SourceError, match="the source refused the request .* HTTP 404") as refused:
        client.get("https://example.org/x")
    assert len(seen) == 1 and isinstance(refused.value.response, httpx.Response)


def test_giving_up_and_being_offline_say_so() -> None:
    transport, _ = answers(503, 503)
    with PoliteClient(name="the source", retries=1, backoff=0.001, transport=transport) as client, \
            pytest.raises(SourceError, match=r"did not answer .* after 2 attempts \(last: HTTP 503\)"):
        client.get("https://example.org/x")
    transport, _ = answers(httpx.ConnectError("refused"))
    with PoliteClient(name="the source", retries=0, transport=transport) as client, \
            pytest.raises(OfflineError, match="Cannot reach the source at https://example.org/x: refused. Check"):
        client.get("https://example.org/x")


def test_the_llm_client_names_its_endpoint_and_settings() -> None:
    transport, seen = answers(503, 200)
    chat = ChatClient("http://llm.local", "m", retries=1, backoff=0.001, transport=transport)
    assert chat.complete("hello") == "hi" and seen[1].url == "http://llm.local/v1/chat/completions"
    transport, _ = answers(401)
    with pytest.raises(LLMServiceError, match="refused the request with HTTP 401.*LLM_API_KEY"):
        ChatClient("http://llm.local", "m", transport=transport).complete("hello")
    transport, _ = answers(500, 500)
    with pytest.raises(LLMServiceError, match=r"The LLM endpoint .* did not answer after 2 attempts"):
        ChatClient("http://llm.local", "m", retries=1, backoff=0.001, transport=transport).complete("hello")
    transport, _ = answers(httpx.ConnectError("down"))
    with pytest.raises(OfflineError, match="Cannot reach the LLM endpoint http://llm.local/v1/chat/completions: "
                                           "down. Check PAPERSCOPE_TOPICS_LLM_URL"):
        ChatClient("http://llm.local", "m", retries=0, settings_prefix="PAPERSCOPE_TOPICS_LLM",
                   transport=transport).complete("hello")
