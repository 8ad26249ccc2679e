"""Topic pages: `/topics` (the map, its legend of areas and topics, and the list) and `/topics/{id}`.

The interactive map is drawn by plotly.js, served from the plotly package (no CDN), with its labels, the
legend's colours and the topic search done by static/topics.js; without JavaScript the pages still show the
legend, the topic list, each topic's trend as an inline SVG and a static map of topic centres.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from paperscope.web.deps import CurrentUser, ServicesDep
from paperscope.web.lookups import get_topic, is_following
from paperscope.web.pages import cards, page
from paperscope.web.params import RecordId
from paperscope.web.schemas import TopicOut
from paperscope.web.topics import AMBIGUOUS_SEPARABILITY, sparkline, topic_list, topic_out, weekly_trend

router = APIRouter(tags=["topics"])
PAGE_SIZE = 20


def _centres(topics: list[TopicOut], width: int = 640, height: int = 400) -> list[dict[str, object]]:
    """Topic centres scaled into an SVG box, for the map drawn without JavaScript."""
    if not topics:
        return []
    xs, ys = [t.x for t in topics], [t.y for t in topics]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    biggest = max(t.size for t in topics) or 1
    return [{"topic": t, "cx": 30 + (t.x - min(xs)) / span_x * (width - 60),
             "cy": 30 + (max(ys) - t.y) / span_y * (height - 60), "r": 4 + 16 * (t.size / biggest) ** 0.5}
            for t in topics]


@router.get("/topics", response_class=HTMLResponse, summary="The topic map")
def topics_page(request: Request, services: ServicesDep) -> HTMLResponse:
    topics = topic_list(services.store)
    by_id = {t.id: t for t in topics}
    borders = sorted({(min(t.id, n.id), max(t.id, n.id)): (t, by_id[n.id], n.separability)
                      for t in topics for n in t.neighbours if n.ambiguous and n.id in by_id}.values(),
                     key=lambda item: item[2])
    current = services.store.topics.current_map()
    areas = [(area, [by_id[t] for t in area.topic_ids if t in by_id]) for area in (current.areas if current else [])]
    return page(request, services, "topics.html", {
        "topics": topics, "current": current, "borders": borders, "centres": _centres(topics), "areas": areas,
        "sparkline": sparkline, "threshold": AMBIGUOUS_SEPARABILITY})


@router.get("/topics/{topic_id}", response_class=HTMLResponse, summary="A topic")
def topic_page(request: Request, services: ServicesDep, user: CurrentUser, topic_id: RecordId,
               page_number: Annotated[int, Query(alias="page", ge=1, le=1000)] = 1) -> HTMLResponse:
    record = get_topic(services, topic_id)
    store = services.store
    trend = weekly_trend(store.topics.sizes_per_week(topic_id).get(topic_id, {}))
    topic = topic_out(record, trend)
    offset = (page_number - 1) * PAGE_SIZE
    ids = store.topics.paper_ids(topic_id, limit=PAGE_SIZE + 1, offset=offset)
    found = store.get_papers(ids[:PAGE_SIZE])
    related_ids = store.topics.related_paper_ids(topic_id, limit=10)
    related = store.get_papers(related_ids)
    neighbours = [(n, store.topics.get_topic(n.id)) for n in topic.neighbours]
    return page(request, services, "topic.html", {
        "topic": topic, "retired": record.retired_at is not None, "page_number": page_number,
        "items": cards(services, user, [found[i] for i in ids[:PAGE_SIZE] if i in found]),
        "has_more": len(ids) > PAGE_SIZE, "offset": offset,
        "related": cards(services, user, [related[i] for i in related_ids if i in related]),
        "neighbours": [(n, t) for n, t in neighbours if t is not None], "sparkline": sparkline,
        "following": is_following(services, user.id if user else None, "topic", topic_id)})
