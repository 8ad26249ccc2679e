"""Goal-driven explanations of topics by an LLM, in the manner of GoalEx (off by default).

Any OpenAI-compatible `/v1/chat/completions` endpoint (OpenAI, vLLM, Ollama, llama.cpp, LM Studio...):

1. **propose**: for each topic, a sample of its papers (the most central first) goes to the model with the
   goal ("group by method", "group by application"); it proposes short descriptions ("uses diffusion models to
   ...") that hold for most of them and serve the goal;
2. **assign**: the sampled papers go to the model in small batches with every proposed description; it says which
   descriptions each paper satisfies;
3. **select**: as many descriptions as there are topics are chosen by an integer program (scipy's HiGHS `milp`) so
   that each sampled paper is covered about once: papers left uncovered and papers covered twice both cost; a
   greedy cover is the fallback when the solver gives up.

Each topic is then explained by the chosen description that covers most of its sampled papers. Requests have a
timeout and are retried with backoff; a model that answers something other than the asked-for JSON is told so
in the error, with the first characters of its answer. The chat client is paperscope.llm's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

from paperscope.errors import ExplanationServiceError
from paperscope.llm import ChatClient
from paperscope.topics.representation import TopicRepresentation, ranked_members


@dataclass
class Explanation:
    descriptions: list[str]  # every proposed description
    proposed_by: list[int]  # the topic each description was proposed for
    matches: np.ndarray  # (descriptions x sampled papers) bool
    selected: list[int]  # the covering subset, as indices into descriptions
    topic_descriptions: list[str | None]  # per topic: the selected description covering most of its papers


class GoalExplainer(TopicRepresentation):
    """GoalEx-style explanations: `fit(texts, labels, scores)` -> `explanation_`."""

    def __init__(self, client: ChatClient, *, goal: str = "group the papers by their method",
                 samples_per_topic: int = 6, proposals_per_topic: int = 3, batch_size: int = 8,
                 overlap_cost: float = 1.0, max_chars: int = 600) -> None:
        self.client = client
        self.goal = goal
        self.samples_per_topic = samples_per_topic
        self.proposals_per_topic = proposals_per_topic
        self.batch_size = batch_size
        self.overlap_cost = overlap_cost
        self.max_chars = max_chars

    def fit(self, texts: Sequence[str], labels: np.ndarray, scores: np.ndarray) -> Self:
        labels = np.asarray(labels)
        samples = [ranked[: self.samples_per_topic] for ranked in ranked_members(labels, scores)]
        k = len(samples)
        descriptions: list[str] = []
        proposed_by: list[int] = []
        for topic, rows in enumerate(samples):
            for text in self._propose([texts[i] for i in rows]):
                if text.lower() not in {d.lower() for d in descriptions}:
                    descriptions.append(text)
                    proposed_by.append(topic)
        sampled = np.concatenate(samples) if samples else np.zeros(0, dtype=np.int64)
        matches = self._assign([texts[int(i)] for i in sampled], descriptions)
        selected = select_cover(matches, max_selected=k, overlap_cost=self.overlap_cost)
        topic_of = labels[sampled]
        topic_descriptions: list[str | None] = []
        for topic in range(k):
            in_topic = topic_of == topic
            coverage = [(int(matches[d, in_topic].sum()), -d) for d in selected]
            best = max(coverage, default=(0, 0))
            topic_descriptions.append(descriptions[-best[1]] if best[0] > 0 else None)
        self.explanation_ = Explanation(descriptions, proposed_by, matches, selected, topic_descriptions)
        return self

    def _propose(self, papers: list[str]) -> list[str]:
        listing = "\n".join(f"{n}. {_short(t, self.max_chars)}" for n, t in enumerate(papers, start=1))
        prompt = (f"Goal: {self.goal}.\nHere are research papers from one group:\n{listing}\n\n"
                  f"Propose up to {self.proposals_per_topic} short descriptions (at most 12 words each) that are "
                  "true of most of these papers and serve the goal. Answer with JSON only: "
                  '{"descriptions": ["...", "..."]}')
        answer = _json_answer(self.client.complete(prompt), "descriptions")
        return [str(d).strip() for d in answer if str(d).strip()][: self.proposals_per_topic]

    def _assign(self, papers: list[str], descriptions: list[str]) -> np.ndarray:
        matches = np.zeros((len(descriptions), len(papers)), dtype=bool)
        if not descriptions:
            return matches
        menu = "\n".join(f"D{n}. {d}" for n, d in enumerate(descriptions, start=1))
        for start in range(0, len(papers), self.batch_size):
            batch = papers[start:start + self.batch_size]
            listing = "\n".join(f"P{n}. {_short(t, self.max_chars)}" for n, t in enumerate(batch, start=1))
            prompt = (f"Descriptions:\n{menu}\n\nPapers:\n{listing}\n\nFor each paper, list the descriptions that "
                      'are true of it. Answer with JSON only: {"matches": {"P1": ["D2"], "P2": []}}')
            answer = _json_answer(self.client.complete(prompt), "matches")
            if not isinstance(answer, dict):
                raise ExplanationServiceError(f"The LLM answered 'matches' as {type(answer).__name__}, not an "
                                              "object of paper -> descriptions.")
            for paper_key, chosen in answer.items():
                p = _number(paper_key)
                if p is None or not 1 <= p <= len(batch) or not isinstance(chosen, list):
                    continue
                for description_key in chosen:
                    d = _number(description_key)
                    if d is not None and 1 <= d <= len(descriptions):
                        matches[d - 1, start + p - 1] = True
        return matches


def select_cover(matches: np.ndarray, *, max_selected: int, overlap_cost: float = 1.0) -> list[int]:
    """`max_selected` descriptions (rows) that together cover each paper (column) about once, as GoalEx does.

    Integer program: choose exactly K = min(max_selected, descriptions) descriptions, minimising the papers left
    uncovered plus `overlap_cost` times the extra coverage of papers covered more than once. Falls back to greedy
    cover if the solver does not reach an optimum.
    """
    n_desc, n_papers = matches.shape
    if n_desc == 0 or n_papers == 0 or max_selected <= 0:
        return []
    k = min(max_selected, n_desc)
    m = matches.T.astype(float)  # papers x descriptions
    eye = np.eye(n_papers)
    zeros = np.zeros((n_papers, n_papers))
    # Variables: y (descriptions, binary), u (uncovered, >= 0), o (over-covered, >= 0).
    cost = np.concatenate([np.zeros(n_desc), np.ones(n_papers), overlap_cost * np.ones(n_papers)])
    covered = LinearConstraint(csr_matrix(np.hstack([m, eye, zeros])), 1, np.inf)  # sum y + u >= 1
    at_most_once = LinearConstraint(csr_matrix(np.hstack([m, zeros, -eye])), -np.inf, 1)  # sum y - o <= 1
    count = LinearConstraint(csr_matrix(np.concatenate([np.ones(n_desc), np.zeros(2 * n_papers)])[None, :]), k, k)
    upper = np.concatenate([np.ones(n_desc), np.full(2 * n_papers, np.inf)])
    result = milp(cost, integrality=np.concatenate([np.ones(n_desc), np.zeros(2 * n_papers)]),
                  bounds=Bounds(0, upper), constraints=[covered, at_most_once, count], options={"time_limit": 30})
    if result.status == 0 and result.x is not None:
        return [int(d) for d in np.flatnonzero(result.x[:n_desc] > 0.5)]
    return greedy_cover(matches, max_selected=k)


def greedy_cover(matches: np.ndarray, *, max_selected: int) -> list[int]:
    """Repeatedly take the description that covers the most papers not yet covered."""
    covered = np.zeros(matches.shape[1], dtype=bool)
    chosen: list[int] = []
    while len(chosen) < max_selected:
        gains = (matches & ~covered).sum(axis=1)
        best = int(gains.argmax())
        if gains[best] <= 1:
            break
        chosen.append(best)
        covered |= matches[best]
    return chosen


def _json_answer(text: str, key: str) -> Any:
    found = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        value = json.loads(found.group(0) if found else text)
        return value[key]
    except (ValueError, KeyError, TypeError):
        raise ExplanationServiceError(f"The LLM did not answer with JSON holding {key!r}: {text[:200]!r}. Try a "
                                      "model that follows instructions better (PAPERSCOPE_TOPICS_LLM_MODEL).") from None


def _number(key: object) -> int | None:
    digits = re.sub(r"\D", "", str(key))
    return int(digits) if digits else None


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
