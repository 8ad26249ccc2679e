"""LLM summaries (PAPERSCOPE_LLM_URL) against a local fake OpenAI-compatible chat server: the strict reading of
answers, the background passes (newest first, bounded, failed papers retried later and then given up), an
endpoint that fails or hangs never holding up ingest or pages, nothing called without the setting, and the
summaries shown escaped on cards, the paper page, the API, the MCP paper tool and in digests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.digest.compose import DigestComposer
from paperscope.errors import ConfigError, UnusableSummary
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.jobs import BackgroundJobs
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.store.digests import Subscription
from paperscope.summaries import parse_answer, summarise_papers
from paperscope.summaries.run import MAX_ATTEMPTS
from paperscope.web import create_app
from tests.http_fixture_server import FixtureServer, Reply, Request
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)
from tests.web_support import site_settings

CHAT = "/v1/chat/completions"
HANG_SECONDS = 120  # longer than any ingest and page load here: a pass still waiting proves nothing waited on it
TODAY = dt.date.today()


def good(summary: str, *phrases: str) -> str:
    return json.dumps({"summary": summary, "key_phrases": list(phrases)})


def chat_reply(content: str, status: int = 200, delay: float = 0.0) -> Reply:
    body = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
    return Reply(status, body, {"Content-Type": "application/json"}, delay=delay)


def fake_model(server: FixtureServer, answers: dict[str, str]) -> None:
    """Answer each request by the title in its prompt: `answers[title]`, else a good summary of the title."""

    def answer(request: Request) -> Reply:
        prompt = json.loads(request.body)["messages"][0]["content"]
        title = re.search(r"^Title: (.*)$", prompt, re.MULTILINE).group(1)  # type: ignore[union-attr]
        return chat_reply(answers.get(title, good(f"This paper studies {title.lower()} carefully.",
                                                  f"{title} method", "benchmark results", "open code")))

    server.route(CHAT, answer)


def asked_titles(server: FixtureServer) -> list[str]:
    prompts = [json.loads(r.body)["messages"][0]["content"] for r in server.requests_to(CHAT)]
    return [re.search(r"^Title: (.*)$", p, re.MULTILINE).group(1) for p in prompts]  # type: ignore[union-attr]


def papers_by_age(count: int, *, days_old: int = 0) -> list[Paper]:
    """Papers named "Paper N", the higher N the newer."""
    return [Paper(id=f"2612.{n + days_old * 100:05d}", title=f"Paper {n + days_old * 100}",
                  abstract=f"We study problem {n} with a new method and report results on benchmarks.",
                  authors=["Ada Lovelace"], categories=["cs.LG"],
                  published=TODAY - dt.timedelta(days=days_old + count - n)) for n in range(count)]


def llm_settings(tmp_path: Path, server: FixtureServer | None, **overrides: object) -> Settings:
    values: dict[str, object] = {"llm_model": "fake-7b", "llm_summaries_per_run": 3, "llm_timeout_seconds": 2}
    if server is not None:
        values["llm_url"] = server.url
    values.update(overrides)
    return site_settings(tmp_path, **values)


# Reading answers ----------------------------------------------------------------------------------

def test_an_answer_is_one_sentence_and_three_phrases_as_json_or_it_is_refused() -> None:
    summary = parse_answer(good("A diffusion model  edits images\nfrom text prompts", "diffusion", "image editing",
                                "text prompts"))
    assert summary.text == "A diffusion model edits images from text prompts."
    assert summary.key_phrases == ("diffusion", "image editing", "text prompts")
    fenced = "```json\n" + good("We prove tight bounds for k-means, e.g. in the plane.", "k-means", "bounds",
                                "geometry") + "\n```"
    assert parse_answer(fenced).text == "We prove tight bounds for k-means, e.g. in the plane."
    hostile = parse_answer(good("<script>alert(1)</script> hides\u202e in\x1b[31m text\u200b.", "a\x00b",
                                "<b>bold</b>", "c"))
    assert hostile.text == "<script>alert(1)</script> hides in[31m text."  # markup stays text; escaped when shown
    assert hostile.key_phrases == ("ab", "<b>bold</b>", "c")
    refused = {
        "prose": "Sure! Here is the summary you asked for.",
        "prose around JSON": "Here: " + good("A fine sentence about graphs.", "a", "b", "c"),
        "an array": json.dumps(["A fine sentence about graphs.", ["a", "b", "c"]]),
        "two sentences": good("We train a model on graphs. It beats the baselines.", "a", "b", "c"),
        "two phrases": good("A fine sentence about graphs.", "a", "b"),
        "four phrases": good("A fine sentence about graphs.", "a", "b", "c", "d"),
        "a repeated phrase": good("A fine sentence about graphs.", "graphs", "Graphs", "c"),
        "a long phrase": good("A fine sentence about graphs.", "a", "b", " ".join(["word"] * 9)),
        "an empty phrase": good("A fine sentence about graphs.", "a", "\u200b", "c"),
        "a long summary": good("A sentence " + "that goes on " * 30 + "forever.", "a", "b", "c"),
        "a short summary": good("Graphs.", "a", "b", "c"),
        "no summary": json.dumps({"key_phrases": ["a", "b", "c"]}),
        "a number": json.dumps({"summary": 42, "key_phrases": ["a", "b", "c"]}),
        "a huge answer": good("A fine sentence about graphs.", "a", "b", "c") + " " * 5000,
    }
    for case, answer in refused.items():
        with pytest.raises(UnusableSummary):
            parse_answer(answer)
            pytest.fail(f"{case} was accepted")


# Passes -------------------------------------------------------------------------------------------

@pytest.mark.network
def test_a_pass_summarises_the_newest_papers_first_at_most_per_run_with_the_model_name(
        tmp_path: Path, database_url: str, fixture_server: FixtureServer) -> None:
    fake_model(fixture_server, {})
    settings = llm_settings(tmp_path, fixture_server, llm_api_key="sk-local", database_url=database_url)
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers_by_age(5) + papers_by_age(1, days_old=30))
        run = summarise_papers(store, settings)
        assert run.summarised == ["2612.00004", "2612.00003", "2612.00002"] and run.full
        assert asked_titles(fixture_server) == ["Paper 4", "Paper 3", "Paper 2"]
        request = fixture_server.requests_to(CHAT)[0]
        assert json.loads(request.body)["model"] == "fake-7b" and request.headers["Authorization"] == "Bearer sk-local"
        assert "We study problem 4" in json.loads(request.body)["messages"][0]["content"]
        stored = store.summaries.get("2612.00004")
        assert stored is not None and stored.model == "fake-7b"
        assert stored.text == "This paper studies paper 4 carefully."
        assert stored.key_phrases == ("Paper 4 method", "benchmark results", "open code")
        second = summarise_papers(store, settings)  # the rest of the recent ones; the month-old one waits
        assert second.summarised == ["2612.00001", "2612.00000"] and not second.full
        assert summarise_papers(store, settings).summarised == []
        assert summarise_papers(store, settings, any_age=True).summarised == ["2612.03000"]
        assert len(fixture_server.requests_to(CHAT)) == 6  # each paper asked once


@pytest.mark.network
def test_a_paper_whose_answer_is_unusable_is_retried_later_then_given_up(
        tmp_path: Path, database_url: str, fixture_server: FixtureServer) -> None:
    fake_model(fixture_server, {"Paper 2": "I cannot summarise this paper, sorry."})
    settings = llm_settings(tmp_path, fixture_server, database_url=database_url)
    now = dt.datetime.now(dt.UTC)
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers_by_age(3))
        run = summarise_papers(store, settings, clock=lambda: now)
        assert run.summarised == ["2612.00001", "2612.00000"] and list(run.refused) == ["2612.00002"]
        assert "not JSON" in run.refused["2612.00002"]
        assert summarise_papers(store, settings, clock=lambda: now).summarised == []  # not again at once
        assert asked_titles(fixture_server).count("Paper 2") == 1
        later = now
        for attempt in range(2, MAX_ATTEMPTS + 1):  # after 1, 4, 16 hours
            later += dt.timedelta(hours=4 ** (attempt - 2), minutes=1)
            assert list(summarise_papers(store, settings, clock=lambda at=later: at).refused) == ["2612.00002"]
        assert store.summaries.counts().given_up == 1 and store.summaries.get("2612.00002") is None
        summarise_papers(store, settings, clock=lambda: now + dt.timedelta(days=365))
        assert asked_titles(fixture_server).count("Paper 2") == MAX_ATTEMPTS  # given up: never asked again


@pytest.mark.network
def test_an_unreachable_or_hanging_endpoint_stops_the_pass_without_counting_against_papers(
        tmp_path: Path, fixture_server: FixtureServer) -> None:
    settings = llm_settings(tmp_path, None, llm_url="http://127.0.0.1:9", http_retries=0)
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers_by_age(3))
        run = summarise_papers(store, settings)
        assert run.summarised == [] and "Cannot reach the LLM endpoint" in str(run.endpoint_problem)
        assert "PAPERSCOPE_LLM_URL" in str(run.endpoint_problem)
        fixture_server.reply(CHAT, chat_reply(good("A fine sentence about graphs.", "a", "b", "c"), delay=3))
        hanging = summarise_papers(store, settings.model_copy(update={"llm_url": fixture_server.url,
                                                                       "llm_timeout_seconds": 0.5}))
        assert hanging.endpoint_problem is not None and hanging.refused == {}
        fixture_server.reply(CHAT, chat_reply("no key", status=401))
        refused = summarise_papers(store, settings.model_copy(update={"llm_url": fixture_server.url}))
        assert "PAPERSCOPE_LLM_API_KEY" in str(refused.endpoint_problem)
        assert store.summaries.counts().waiting_to_retry == 0  # none of it was the papers' fault
        assert len(store.summaries.pending(limit=10)) == 3


@pytest.mark.search_backend
def test_without_the_setting_nothing_is_read_called_or_stored(tmp_path: Path) -> None:
    settings = llm_settings(tmp_path, None, ingest_sources="")
    assert settings.llm_url is None
    assert llm_settings(tmp_path, None, llm_url="").llm_url is None  # empty means off too
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers_by_age(2))
        jobs = BackgroundJobs(settings, store, SearchEngine(store, settings))
        jobs.run_cycle()
        assert jobs.summarise_soon() is None
        with pytest.raises(ConfigError, match="PAPERSCOPE_LLM_URL"):
            summarise_papers(store, settings)
        assert store.summaries.counts().summarised == 0 and store.summaries.pending(limit=5)
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "never.db"), "summarise"])
    assert result.exit_code == 1 and "PAPERSCOPE_LLM_URL" in result.output
    assert not (tmp_path / "never.db").exists()


# The background jobs ------------------------------------------------------------------------------

@pytest.mark.search_backend
@pytest.mark.network
def test_a_hanging_endpoint_holds_up_neither_ingest_nor_pages(tmp_path: Path, fixture_server: FixtureServer) -> None:
    released = threading.Event()

    def hanging(_request: Request) -> Reply:
        released.wait(HANG_SECONDS)  # the model answers only when the test lets it
        return chat_reply(good("Late.", "a", "b", "c"))

    fixture_server.route(CHAT, hanging)
    listing = tmp_path / "new.jsonl"
    listing.write_text("\n".join(json.dumps({"id": p.id, "title": p.title, "abstract": p.abstract,
                                             "published": p.published.isoformat() if p.published else None})
                                 for p in papers_by_age(3)), encoding="utf-8")
    settings = llm_settings(tmp_path, fixture_server, llm_timeout_seconds=HANG_SECONDS, http_retries=0,
                            ingest_sources=str(listing))
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers_by_age(1, days_old=1))
        jobs = BackgroundJobs(settings, store, SearchEngine(store, settings))
        thread = jobs.summarise_soon()
        assert thread is not None and jobs.summarise_soon() is None  # one pass at a time
        status = jobs.run_cycle()  # while the model hangs
        assert status.state == "done" and store.count_papers() == 4
        with TestClient(create_app(settings)) as client:
            assert client.get("/papers/2612.00002").status_code == 200
            assert client.get("/api/papers/2612.00002").json()["summary"] is None
        assert thread.is_alive(), "ingest or a page waited for the model"  # its pass still hangs
        released.set()
        jobs.stop()
        thread.join(timeout=20)
        assert not thread.is_alive()


@pytest.mark.search_backend
@pytest.mark.network
def test_the_jobs_summarise_new_papers_and_back_off_from_a_failing_endpoint(
        tmp_path: Path, fixture_server: FixtureServer) -> None:
    fake_model(fixture_server, {})
    settings = llm_settings(tmp_path, fixture_server, llm_summaries_per_run=2, ingest_sources="")
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers_by_age(3))
        jobs = BackgroundJobs(settings, store, SearchEngine(store, settings))
        for _ in range(3):  # a full pass lets the next look go on; the last one finds nothing new
            thread = jobs.summarise_soon()
            if thread is not None:
                thread.join(timeout=10)
        assert store.summaries.counts().summarised == 3 and len(fixture_server.requests_to(CHAT)) == 3
        assert jobs.summarise_soon() is None  # nothing changed, nothing waits: no pass, no request
        fixture_server.route(CHAT, lambda _request: chat_reply("overloaded", status=503))
        store.upsert_papers([Paper(id="2612.09999", title="Paper new", abstract="New.", published=TODAY)])
        thread = jobs.summarise_soon()
        assert thread is not None
        thread.join(timeout=10)
        store.upsert_papers([Paper(id="2612.09998", title="Paper newer", abstract="Newer.", published=TODAY)])
        assert jobs.summarise_soon() is None  # backing off from the failing endpoint, changes or not


# Where summaries show -----------------------------------------------------------------------------

HOSTILE = good('<script>alert("x")</script> breaks \u202eout of the page.', "<img src=x onerror=alert(1)>",
               "prompt injection", "markup")


@pytest.fixture
def summarised_site(tmp_path: Path, fixture_server: FixtureServer) -> Settings:
    fake_model(fixture_server, {"Paper 1": HOSTILE})
    settings = llm_settings(tmp_path, fixture_server)
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers_by_age(3))
        index_papers(SearchEngine(store, settings))
        summarise_papers(store, settings)
    return settings


@pytest.mark.search_backend
@pytest.mark.network
def test_summaries_show_escaped_on_cards_the_paper_page_and_in_the_api(summarised_site: Settings) -> None:
    with TestClient(create_app(summarised_site)) as client:
        page = client.get("/papers/2612.00001").text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; breaks out of the page." in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<script>alert" not in page
        assert "\u202e" not in page and 'data-summary-model="fake-7b"' in page
        cards = client.get("/search", params={"q": "problem benchmarks"}).text
        assert cards.count('class="summary"') == 3 and "This paper studies paper 2 carefully." in cards
        paper = client.get("/api/papers/2612.00002").json()
        assert paper["summary"] == {"text": "This paper studies paper 2 carefully.",
                                    "key_phrases": ["Paper 2 method", "benchmark results", "open code"],
                                    "model": "fake-7b"}
        listed = client.get("/api/papers").json()["items"]
        assert {p["id"]: p["summary"]["model"] for p in listed} == dict.fromkeys(
            ["2612.00000", "2612.00001", "2612.00002"], "fake-7b")


@pytest.mark.search_backend
@pytest.mark.network
def test_summaries_go_into_both_parts_of_a_digest(summarised_site: Settings) -> None:
    now = dt.datetime.now(dt.UTC)
    with open_store(summarised_site.database_url) as store:
        store.accounts.create_user("ada@example.org")
        user = store.accounts.get_user_by_email("ada@example.org")
        assert user is not None
        _upvote_all(store)
        subscription = Subscription(user_id=user.id, email="ada@example.org", timezone="UTC", kind="trending",
                                    frequency="daily", hour=8, weekday=0, max_papers=10, active=True, last_slot=None,
                                    last_digest_at=now - dt.timedelta(days=2), created_at=now)
        digest = DigestComposer(store, summarised_site).compose(subscription, now, None)
    assert digest is not None and digest.message is not None
    text = digest.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = digest.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "TL;DR: This paper studies paper 2 carefully." in text
    assert "Key phrases: Paper 2 method; benchmark results; open code (by fake-7b)" in text
    assert "<strong>TL;DR:</strong> This paper studies paper 2 carefully." in html
    assert "&lt;script&gt;" in html and "<script>" not in html


def _upvote_all(store: Store) -> None:
    papers = store.get_papers(["2612.00000", "2612.00001", "2612.00002"])
    store.upsert_papers([dataclasses.replace(p, upvotes=5) for p in papers.values()])
