"""GoalEx-style explanations against a local fake OpenAI-compatible chat server (the only faked edge)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from paperscope.errors import ExplanationServiceError, OfflineError
from paperscope.llm import ChatClient
from paperscope.topics.explain import GoalExplainer, greedy_cover, select_cover

# The fake model knows three methods and recognises them by a word in the text.
METHODS = {"diffusion": "generate images with diffusion models", "graph": "learn on graphs with message passing",
           "speech": "recognise speech from audio"}


class FakeChat:
    def __init__(self) -> None:
        self.prompts: list[str] = []
        self.fail_first = 0
        self.garbage = False

    def answer(self, body: dict[str, Any]) -> tuple[int, str]:
        prompt = body["messages"][0]["content"]
        self.prompts.append(prompt)
        if self.fail_first > 0:
            self.fail_first -= 1
            return 503, "busy"
        if self.garbage:
            content = "Sure! Here are some thoughts."
        elif prompt.startswith("Goal:"):
            found = [d for word, d in METHODS.items() if word in prompt.lower()]
            content = json.dumps({"descriptions": found[:1] + ["papers about machine learning"]})
        else:
            menu = dict(re.findall(r"^D(\d+)\. (.+)$", prompt, re.MULTILINE))
            papers = dict(re.findall(r"^P(\d+)\. (.+)$", prompt, re.MULTILINE))
            matches = {f"P{p}": [f"D{d}" for d, text in menu.items()
                                 if text == "papers about machine learning"
                                 or any(w in text_p.lower() and METHODS[w] == text for w in METHODS)]
                       for p, text_p in papers.items()}
            content = "```json\n" + json.dumps({"matches": matches}) + "\n```"
        return 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})


@pytest.fixture
def chat() -> Iterator[tuple[FakeChat, str]]:
    fake = FakeChat()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert self.path == "/v1/chat/completions"
            status, text = fake.answer(body)
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


TEXTS = ([f"Diffusion model {i} for image synthesis." for i in range(6)]
         + [f"Graph neural network {i} with message passing." for i in range(6)]
         + [f"Speech recognition model {i} for noisy audio." for i in range(6)])
LABELS = np.repeat([0, 1, 2], 6)


@pytest.mark.network
def test_goal_driven_descriptions_are_proposed_assigned_and_a_cover_selected(chat: tuple[FakeChat, str]) -> None:
    fake, url = chat
    fake.fail_first = 1  # one transient failure is retried
    client = ChatClient(url, "fake-model", retries=2, backoff=0.01)
    explainer = GoalExplainer(client, goal="group by method").fit(TEXTS, LABELS, np.ones(len(TEXTS)))
    result = explainer.explanation_
    assert fake.prompts[1].startswith("Goal: group by method.")
    assert set(METHODS.values()) <= set(result.descriptions)
    assert result.topic_descriptions == [METHODS["diffusion"], METHODS["graph"], METHODS["speech"]]
    chosen = {result.descriptions[i] for i in result.selected}
    assert "papers about machine learning" not in chosen  # covers everything, but overlaps every other one
    client.close()


@pytest.mark.network
def test_unusable_answers_and_a_dead_server_are_clear_errors(chat: tuple[FakeChat, str]) -> None:
    fake, url = chat
    fake.garbage = True
    with pytest.raises(ExplanationServiceError, match="did not answer with JSON"):
        GoalExplainer(ChatClient(url, "m", retries=0)).fit(TEXTS, LABELS, np.ones(len(TEXTS)))
    with pytest.raises(OfflineError, match="PAPERSCOPE_TOPICS_LLM_URL"):
        ChatClient("http://127.0.0.1:9", "m", retries=0, timeout=2, settings_prefix="PAPERSCOPE_TOPICS_LLM"
                   ).complete("hello")


def test_cover_selection_prefers_few_disjoint_descriptions() -> None:
    matches = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0]], dtype=bool)
    assert select_cover(matches, max_selected=1) == [2]  # one description that covers every paper once
    assert select_cover(matches, max_selected=2) == [0, 1]  # two that split the papers between them
    assert select_cover(matches, max_selected=3) == [0, 1, 3]  # the least overlap with three
    assert greedy_cover(matches[[0, 1, 3]], max_selected=3) == [0, 1]
