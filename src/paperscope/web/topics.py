"""Topics as the pages show them. Until a topic map is built (`paperscope topics`), there are none."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from paperscope.web.schemas import TopicOut
from paperscope.web.services import Services


@dataclass(frozen=True)
class TopicBadge:
    id: int
    label: str


def topic_badges(services: Services, paper_ids: Iterable[str]) -> dict[str, TopicBadge]:
    """The topic of each paper that has one."""
    return {}


def topic_list(services: Services) -> list[TopicOut]:
    """Every topic of the map, largest first."""
    return []
