"""JSON API of topics: the current topics, every paper's point on the map, and one topic with its papers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from paperscope.store import MAX_RECORD_ID
from paperscope.web.deps import ServicesDep
from paperscope.web.lookups import get_topic
from paperscope.web.params import Limit, Offset, RecordId
from paperscope.web.schemas import ERROR_RESPONSES, MapOut, Page, TopicDetailOut, TopicOut
from paperscope.web.topics import topic_list, topic_out, weekly_trend

TopicQuery = Annotated[int | None, Query(ge=0, le=MAX_RECORD_ID, description="Only this topic's papers")]
router = APIRouter(tags=["topics"], responses=ERROR_RESPONSES)


@router.get("/topics", response_model=list[TopicOut], summary="The current topics, largest first")
def api_topics(services: ServicesDep) -> list[TopicOut]:
    return topic_list(services.store)


@router.get("/topics/map", response_model=MapOut, summary="Every paper's point on the 2-D topic map")
def api_map(services: ServicesDep, topic: TopicQuery = None) -> MapOut:
    return MapOut(**services.map_data.get(services.store, topic))


@router.get("/topics/{topic_id}", response_model=TopicDetailOut, summary="A topic and its papers")
def api_topic(services: ServicesDep, topic_id: RecordId, limit: Limit = 50, offset: Offset = 0) -> TopicDetailOut:
    record = get_topic(services, topic_id)
    trend = weekly_trend(services.store.topics.sizes_per_week(topic_id).get(topic_id, {}))
    ids = services.store.topics.paper_ids(topic_id, limit=limit + 1, offset=offset)
    papers = Page[str](items=ids[:limit], total=record.size, limit=limit, offset=offset,
                       next_offset=offset + limit if len(ids) > limit else None)
    return TopicDetailOut(**topic_out(record, trend).model_dump(), papers=papers)
