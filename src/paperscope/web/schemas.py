"""Pydantic models of the JSON API: what /openapi.json documents and every answer is checked against."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from paperscope.ids import ids_by_kind
from paperscope.limits import ARXIV_ID, COLLECTION_DESCRIPTION, COLLECTION_NAME, COMMENT, NOTE, PAPER_ID, TAG
from paperscope.models import Paper
from paperscope.store.authors import Author
from paperscope.store.schema import MAX_RECORD_ID
from paperscope.store.summaries import PaperSummary
from paperscope.web.bounded import Bounded

T = TypeVar("T")


class ErrorDetail(BaseModel):
    status: int = Field(description="The HTTP status code")
    code: str = Field(description="A stable machine-readable name, e.g. not_found, invalid_request")
    message: str = Field(description="What went wrong and how to fix it")


class ErrorBody(BaseModel):
    """Every API error has this shape."""

    error: ErrorDetail


_API_ERRORS = {
    400: "A value the schema cannot rule out is wrong (a date, a name already in use); the message says which",
    401: "Sign in, or send an API token",
    403: "A cookie session sent no CSRF header, or a moderator blocked the account",
    404: "No such record (or one you may not see)", 422: "A parameter or body field breaks the schema",
    429: "Too many requests; wait for Retry-After seconds", 502: "An upstream source (arXiv) failed",
    503: "The database or the search indexes are not ready; try again"}
_PAGE_ERRORS = {
    303: "Sign in first: a redirect to /signin", 400: "A value is wrong; the page says which",
    403: "The form's CSRF token is missing or stale, or a moderator blocked the account",
    404: "No such record (or one you may not see)",
    422: "A form field or parameter breaks the schema; the page says which",
    429: "Too many attempts; wait for Retry-After seconds", 502: "An upstream source (arXiv) failed",
    503: "The database or the search indexes are not ready; try again"}

#: The error answers every route of the JSON API documents: the JSON error body.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _API_ERRORS.items()}
#: The error answers of pages and feeds: an HTML error page (and the redirect to sign in).
PAGE_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {} if status == 303 else {"text/html": {"schema": {"type": "string"}}}}
    for status, text in _PAGE_ERRORS.items()}


class SummaryOut(BaseModel):
    text: str = Field(description="One sentence, written by the language model")
    key_phrases: list[str] = Field(description="Three key phrases")
    model: str = Field(description="The model that wrote them (PAPERSCOPE_LLM_MODEL when they were written)")

    @classmethod
    def of(cls, summary: PaperSummary) -> SummaryOut:
        return cls(text=summary.text, key_phrases=list(summary.key_phrases), model=summary.model)


class PaperOut(BaseModel):
    id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: dt.date | None
    updated: dt.date | None
    version: int | None
    abs_url: str | None
    pdf_url: str | None
    doi: str | None
    comment: str | None
    journal_ref: str | None
    sources: list[str]
    upvotes: int = Field(description="Upvotes from the paper's source (Hugging Face) plus votes on this site")
    github_repo: str | None
    github_stars: int | None
    project_page: str | None
    ai_keywords: list[str]
    ids: dict[str, str] = Field(description="The ids the paper is known by, one per service: arxiv, doi, pmid, "
                                            "pmcid, openalex, s2, openreview (those known)")
    citation_count: int | None = Field(description="Citations as its source counts them (not only those stored "
                                                   "here)")
    url: str = Field(description="The paper's page on this site")
    comment_count: int = Field(default=0, description="Comments on the paper here that everyone sees (not deleted or "
                                              "hidden)")
    summary: SummaryOut | None = Field(default=None, description=(
        "An LLM's one-sentence summary and three key phrases (only where PAPERSCOPE_LLM_URL is set, once written); "
        "null otherwise"))

    @classmethod
    def of(cls, paper: Paper, upvotes: int, base_url: str, comment_count: int = 0,
           summary: PaperSummary | None = None) -> PaperOut:
        return cls(id=paper.id, title=paper.title, abstract=paper.abstract, authors=paper.authors,
                   categories=paper.categories, published=paper.published, updated=paper.updated,
                   version=paper.version, abs_url=paper.abs_url, pdf_url=paper.pdf_url, doi=paper.doi,
                   comment=paper.comment, journal_ref=paper.journal_ref, sources=paper.sources, upvotes=upvotes,
                   github_repo=paper.github_repo, github_stars=paper.github_stars, project_page=paper.project_page,
                   ai_keywords=paper.ai_keywords, ids=ids_by_kind(paper.refs, paper.doi),
                   citation_count=paper.citation_count, url=f"{base_url.rstrip('/')}/papers/{paper.id}",
                   comment_count=comment_count, summary=SummaryOut.of(summary) if summary is not None else None)


class AuthorOut(BaseModel):
    id: int
    name: str = Field(description="The name as first seen")
    names: list[str] = Field(description="Every spelling of the name seen")
    ids: list[str] = Field(description='The ids the author is known by: "orcid:...", "openalex:A...", "s2author:..."')
    papers: int = Field(description="Papers of theirs stored here")
    url: str = Field(description="The author's page on this site (a path)")

    @classmethod
    def of(cls, author: Author) -> AuthorOut:
        return cls(id=author.id, name=author.name, names=author.names, ids=author.ids, papers=author.papers,
                   url=f"/authors/{author.id}")


class Page(BaseModel, Generic[T]):
    """A page of results: `items`, the total when it is known, and the offset of the next page (or null)."""

    items: list[T]
    total: int | None = Field(description=(
        "How many results there are in all; null when not known. With `total_is_lower_bound` more than this many"))
    total_is_lower_bound: bool = Field(default=False, description=(
        "True when more results than `total` match and the count stopped there (the paper listing counts up to "
        "PAPERSCOPE_LISTING_COUNT_LIMIT, 10,000 by default, or the page's offset + limit if that is more); "
        "`next_offset` then leads to the next page"))
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page, null after the last")


class ScoredPaper(BaseModel):
    score: float
    paper: PaperOut


class SearchHitOut(BaseModel):
    score: float
    keyword_rank: int | None
    semantic_rank: int | None
    paper: PaperOut


class SearchPage(Page[SearchHitOut]):
    query: str
    mode: str


class TrendingOut(Page[ScoredPaper]):
    period: str
    order: str = Field(default="upvotes", description="upvotes (score: upvotes with a recency decay) or discussed "
                                                      "(score: the comments written in the window)")
    date: dt.date
    first: dt.date
    last: dt.date
    previous: dt.date
    next: dt.date | None


#: Request bodies take JSON as the schema types it: `"public": 0` is no boolean, `"name": 7` no string.
STRICT = ConfigDict(strict=True)


class VoteIn(BaseModel):
    model_config = STRICT

    up: bool = True


class VoteOut(BaseModel):
    paper_id: str
    voted: bool
    upvotes: int


class CollectionIn(BaseModel):
    model_config = STRICT

    name: Annotated[str, Bounded(COLLECTION_NAME)]
    description: Annotated[str, Bounded(COLLECTION_DESCRIPTION)] = ""
    public: bool = False


class CollectionOut(BaseModel):
    id: int
    name: str
    description: str
    public: bool
    size: int
    created_at: dt.datetime
    paper_ids: list[str] | None = None


class CollectionPapersIn(BaseModel):
    model_config = STRICT

    paper_ids: list[Annotated[str, Bounded(PAPER_ID)]] = Field(min_length=1, max_length=1000)


class NoteIn(BaseModel):
    model_config = STRICT

    body: Annotated[str, Bounded(NOTE)] = Field(description="The note: Markdown, with math as $..$ or $$..$$")


class NoteOut(BaseModel):
    paper_id: str
    body: str = Field(description="The note as written (Markdown)")
    body_html: str = Field(description="The note as sanitised HTML, its math as MathML")
    created_at: dt.datetime
    updated_at: dt.datetime


class TagIn(BaseModel):
    model_config = STRICT

    tag: Annotated[str, Bounded(TAG)] = Field(description="A tag of yours; tagging a paper saves it to your library")


class TagOut(BaseModel):
    tag: str
    paper_ids: list[str] = Field(description="Your papers with this tag, first tagged first")


class PaperTagsOut(BaseModel):
    paper_id: str
    tags: list[str] = Field(description="Your tags on this paper")


ReadingStateName = Literal["to-read", "reading", "read"]


class ReadingIn(BaseModel):
    model_config = STRICT

    state: ReadingStateName


class ReadingOut(BaseModel):
    paper_id: str
    state: ReadingStateName = Field(description="How far you got with the saved paper")


class CommentIn(BaseModel):
    model_config = STRICT

    body: Annotated[str, Bounded(COMMENT)] = Field(description=(
        "The comment: Markdown, with math as $..$ or $$..$$; paper ids (2503.11731, doi:10...) become links and "
        "@handles mention users"))
    parent_id: int | None = Field(default=None, ge=0, le=MAX_RECORD_ID, description=(
        "The comment this one replies to (on the same paper); null starts a thread"))


class CommentEditIn(BaseModel):
    model_config = STRICT

    body: Annotated[str, Bounded(COMMENT)] = Field(description="The new text of your comment (Markdown)")


class CommentAuthorOut(BaseModel):
    handle: str = Field(description="The name @mentions use")
    display_name: str | None


class CommentOut(BaseModel):
    id: int
    paper_id: str
    parent_id: int | None = Field(description="The comment it replies to; null when it starts a thread")
    author: CommentAuthorOut | None = Field(description=(
        "null when the comment was deleted or hidden, or its author's account was deleted"))
    body: str = Field(description="The comment as written (Markdown); empty when deleted or hidden")
    body_html: str = Field(description="The comment as sanitised HTML: math as MathML, paper ids as links, "
                                       "mentions marked")
    created_at: dt.datetime
    edited_at: dt.datetime | None = Field(description="When its author last changed it; null if never")
    deleted: bool
    hidden: bool = Field(description="Hidden by a moderator (its text is shown to admins only)")


class SubmissionIn(BaseModel):
    model_config = STRICT

    arxiv_id: Annotated[str, Bounded(ARXIV_ID)] = Field(description=(
        "The paper to fetch: an arXiv id or link (2503.11731), a DOI (10.1038/..., doi.org/...), a PubMed id "
        "(pmid:N or a pubmed.ncbi.nlm.nih.gov link) or an OpenReview forum link; the name stays arxiv_id for "
        "existing clients"))


class SubmissionOut(BaseModel):
    id: int
    arxiv_id: str
    paper_id: str | None
    status: str = Field(description="added, updated, unchanged or failed")
    message: str
    created_at: dt.datetime


class TopicNeighbourOut(BaseModel):
    id: int
    separability: float = Field(description="0: the two topics overlap on the map; 1: a clean border")
    ambiguous: bool = Field(description="The border is uncertain (separability below 0.5)")


class TopicOut(BaseModel):
    id: int
    label: str
    keywords: list[str]
    size: int
    emerging: bool = False
    emerged_at: dt.date | None = None
    cohesion: float
    x: float
    y: float
    parent_id: int | None = None
    description: str | None = None
    neighbours: list[TopicNeighbourOut]
    trend: list[int] = Field(default_factory=list, description="Papers per week over the last 12 weeks, oldest first")


class TopicDetailOut(TopicOut):
    papers: Page[str] = Field(description="Ids of the topic's papers, most central first")


#: A map point as JSON Schema: six items in that order. Written out with `items` rather than the `prefixItems`
#: pydantic gives a tuple, which OpenAPI tools that read 3.0-style schemas reject.
_POINT_SCHEMA: dict[str, Any] = {
    "type": "array", "minItems": 6, "maxItems": 6,
    "items": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]}}


class MapOut(BaseModel):
    map: bool | None
    areas: list[dict[str, object]] = Field(
        default_factory=list, description="The broad areas the topics are merged into: id, label, keywords, "
        "topic_ids, size, x, y")
    topics: list[dict[str, object]]
    points: list[Annotated[tuple[str, int | None, float, float, str, bool], WithJsonSchema(_POINT_SCHEMA)]] = Field(
        description="Per paper: id, topic id (null: outlier), x, y, title, close to another topic too")


class StatusOut(BaseModel):
    papers: int
    background_jobs: bool
    state: str | None
    activity: str | None
    problems: list[str]
    process_id: int = Field(description="The web process that answered (serve --workers N runs several)")
    keyword_indexed: int = Field(description="Papers in this process's keyword index")
    vectors_indexed: int = Field(description="Vectors in this process's vector index")


class AuthorPage(Page[PaperOut]):
    """An author and a page of their papers stored here, newest first."""

    author: AuthorOut


class NotificationOut(BaseModel):
    id: int
    kind: Literal["mention", "reply", "discussion"] = Field(
        description="mention: the comment names you; reply: it answers your comment; discussion: a comment on a "
                    "paper whose discussion you follow")
    comment_id: int
    paper_id: str
    paper_title: str
    author: CommentAuthorOut | None = Field(description="The comment's author; null once their account is deleted")
    excerpt: str = Field(description="The comment's first words, as written (Markdown)")
    url: str = Field(description="The comment on the paper's page (a path)")
    created_at: dt.datetime
    read: bool


class NotificationPage(Page[NotificationOut]):
    """Your notifications, unread first, newest first within each, and how many are unread."""

    unread: int


class NotificationsReadIn(BaseModel):
    model_config = STRICT

    ids: list[Annotated[int, Field(ge=0, le=MAX_RECORD_ID)]] | None = Field(
        default=None, max_length=1000, description="The notifications to mark read; absent or null: all of yours")


class NotificationsReadOut(BaseModel):
    marked: int = Field(description="How many of your notifications changed from unread to read")
    unread: int


class DiscussionFollowOut(BaseModel):
    paper_id: str
    following: bool


class NotifyEmailIn(BaseModel):
    model_config = STRICT

    notify_email: Literal["off", "digest", "immediate"] = Field(
        description="When you are e-mailed about notifications: never, with your digest, or one e-mail each")


class NotifyEmailOut(BaseModel):
    notify_email: Literal["off", "digest", "immediate"]
