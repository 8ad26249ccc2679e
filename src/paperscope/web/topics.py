"""Topics as the pages show them: badges on cards, the topic list with trends, and the map's points.

The map itself is computed by `paperscope topics` (the topics stage) and kept by `store.topics`; the
web app only reads it. Map data (every paper's point, topic and title) is assembled once per map build.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from paperscope.store import Store
from paperscope.store.topics import TopicArea, TopicRecord
from paperscope.text import plain_text
from paperscope.web.schemas import TopicNeighbourOut, TopicOut

TREND_WEEKS = 12
AMBIGUOUS_SEPARABILITY = 0.5  # a border below this separability is drawn and listed as uncertain
MAX_MAP_POINTS = 50_000


@dataclass(frozen=True)
class TopicBadge:
    id: int
    label: str


def topic_badges(store: Store, paper_ids: Iterable[str]) -> dict[str, TopicBadge]:
    """The topic of each paper that has one in the current map."""
    labels = store.topics.labels_of(list(paper_ids))
    return {pid: TopicBadge(tid, label) for pid, (tid, label) in labels.items()}


def weekly_trend(counts: dict[dt.date, int], weeks: int = TREND_WEEKS, end: dt.date | None = None) -> list[int]:
    """Papers per week over the last `weeks` weeks up to the newest week with papers (oldest first)."""
    if not counts:
        return [0] * weeks
    last = end or max(counts)
    return [counts.get(last - dt.timedelta(weeks=weeks - 1 - i), 0) for i in range(weeks)]


def topic_out(topic: TopicRecord, trend: list[int]) -> TopicOut:
    return TopicOut(id=topic.id, label=topic.label, keywords=topic.keywords, size=topic.size,
                    emerging=topic.emerging, emerged_at=topic.emerged_at, cohesion=round(topic.cohesion, 4),
                    x=topic.x, y=topic.y, parent_id=topic.parent_id, description=topic.description,
                    neighbours=[TopicNeighbourOut(id=n.id, separability=round(n.separability, 4),
                                                  ambiguous=n.separability < AMBIGUOUS_SEPARABILITY)
                                for n in topic.neighbours],
                    trend=trend)


def topic_list(store: Store) -> list[TopicOut]:
    """Every current topic, largest first, with its weekly trend (weeks aligned across topics)."""
    records = store.topics.list_topics()
    sizes = store.topics.sizes_per_week() if records else {}
    end = max((week for weeks in sizes.values() for week in weeks), default=None)
    return [topic_out(t, weekly_trend(sizes.get(t.id, {}), end=end)) for t in records]


def sparkline(values: list[int], width: int = 96, height: int = 24) -> str:
    """An SVG polyline path of the values (drawn by the template, so it shows without JavaScript)."""
    if not values:
        return ""
    top = max(max(values), 1)
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values))


class MapData:
    """The points of the current map with titles, rebuilt when a new map is saved or an admin hides or shows a
    paper."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (map id, assignments count, hidden papers, data)
        self._cached: tuple[int, int, frozenset[str], dict[str, Any]] | None = None

    def get(self, store: Store, topic_id: int | None = None) -> dict[str, Any]:
        current = store.topics.current_map()
        if current is None:
            return {"map": None, "areas": [], "topics": [], "points": []}
        hidden = frozenset(store.moderation.hidden_paper_ids())  # a paper an admin hides leaves the map at once
        with self._lock:
            if self._cached is None or self._cached[:3] != (current.id, current.n_papers, hidden):
                self._cached = (current.id, current.n_papers, hidden, self._build(store))
            data = self._cached[3]
        if topic_id is None:
            return data
        return {**data, "points": [p for p in data["points"] if p[1] == topic_id]}

    @staticmethod
    def _build(store: Store) -> dict[str, Any]:
        topics = store.topics
        assignments = []
        for assignment in topics.assignments():
            assignments.append(assignment)
            if len(assignments) >= MAX_MAP_POINTS:
                break
        found = store.get_papers(a.paper_id for a in assignments)
        titles = {pid: plain_text(paper.title) for pid, paper in found.items()}
        # (paper id, topic id or None, x, y, title, ambiguous: close to another topic too)
        points = [(a.paper_id, a.topic_id, round(a.x, 4), round(a.y, 4), titles[a.paper_id], bool(a.other_topics))
                  for a in assignments if a.paper_id in titles]  # not a paper merged away or hidden by an admin
        current = topics.current_map()
        areas = current.areas if current else []
        area_of = {topic_id: area.id for area in areas for topic_id in area.topic_ids}
        labels = [{"id": t.id, "label": t.label, "keywords": t.keywords[:8], "emerging": t.emerging, "x": t.x,
                   "y": t.y, "size": t.size, "area": area_of.get(t.id)} for t in topics.list_topics()]
        return {"map": True, "areas": [area_out(a) for a in areas], "topics": labels, "points": points}


def area_out(area: TopicArea) -> dict[str, Any]:
    """An area as the map and the API show it."""
    return {"id": area.id, "label": area.label, "keywords": area.keywords, "topic_ids": area.topic_ids,
            "size": area.size, "x": area.x, "y": area.y}
