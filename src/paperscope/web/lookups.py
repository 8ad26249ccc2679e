"""What routes look up before they answer: a paper (hidden ones for admins only), topic or collection (404 when
there is none the viewer may see), whether a user follows something, and papers as the JSON API shows them."""

from __future__ import annotations

from fastapi import HTTPException

from paperscope.feed.trending import TrendingPage, upvotes_of
from paperscope.models import Paper
from paperscope.store.accounts import Collection, User
from paperscope.store.topics import TopicRecord
from paperscope.web.schemas import PaperOut, ScoredPaper
from paperscope.web.services import Services


def get_paper(services: Services, paper_id: str, viewer: User | None = None) -> Paper:
    """The stored paper known by this id; 404 when there is none, or when an admin hid it and the viewer is no
    admin (a hidden paper is not there for anyone else)."""
    paper = services.store.get_paper(paper_id)
    if paper is None or (not (viewer and viewer.is_admin) and services.store.moderation.is_paper_hidden(paper.id)):
        raise HTTPException(404, f"No paper with id {paper_id!r} is stored here. Search for it, or submit it by "
                            "its arXiv id.")
    return paper


def get_topic(services: Services, topic_id: int) -> TopicRecord:
    topic = services.store.topics.get_topic(topic_id)
    if topic is None:
        raise HTTPException(404, f"There is no topic {topic_id}; the list is at /topics.")
    return topic


def collection_not_found(collection_id: int) -> HTTPException:
    return HTTPException(404, f"There is no collection {collection_id} that you can see.")


def visible_collection(services: Services, collection_id: int, viewer: User | None
                       ) -> tuple[Collection, list[str]]:
    """The collection and its paper ids if the viewer may read it (its owner, or anyone when it is public);
    404 otherwise, so a private collection's existence does not leak."""
    viewer_id = viewer.id if viewer else None
    collection = services.store.accounts.get_collection(collection_id, viewer_id=viewer_id)
    ids = services.store.accounts.collection_paper_ids(collection_id, viewer_id=viewer_id)
    if collection is None or ids is None:
        raise collection_not_found(collection_id)
    return collection, ids


def is_following(services: Services, user_id: int | None, kind: str, value: str | int) -> bool:
    """Whether the user (None: nobody signed in) follows this topic id, search or author."""
    if user_id is None:
        return False
    wanted = " ".join(str(value).split())
    return any(f.kind == kind and f.value == wanted for f in services.store.digests.follows_of(user_id))


def papers_out(services: Services, papers: list[Paper], upvotes: dict[str, int] | None = None) -> list[PaperOut]:
    """Papers as the JSON API answers them, each with its total upvotes (read when not given), its comment count
    and its summary (one query each)."""
    if upvotes is None:
        upvotes = upvotes_of(services.store, papers)
    ids = [p.id for p in papers]
    comments = services.store.comment_counts(ids)
    summaries = services.store.summaries.of_papers(ids)
    base = services.settings.base_url
    return [PaperOut.of(p, upvotes[p.id], base, comments.get(p.id, 0), summaries.get(p.id)) for p in papers]


def trending_items(services: Services, trend: TrendingPage) -> list[ScoredPaper]:
    """A trending page's papers as the JSON API answers them: each with its score and the upvotes it was ranked
    by."""
    outs = papers_out(services, [e.paper for e in trend.entries], {e.paper.id: e.upvotes for e in trend.entries})
    return [ScoredPaper(score=round(e.score, 6), paper=o) for e, o in zip(trend.entries, outs, strict=True)]
