"""`paperscope mcp`: the instance over the Model Context Protocol (the official Python SDK's `MCPServer`), so LLM
agents and other MCP clients can query it. Seven tools: search, similar, trending, paper, citations (anyone may
call them) and recommend, collect (they act for the owner of an API token).

The tools reuse the web app's parts: `web.services.Services` (store, search engine, trending feed, recommender)
and the JSON API's schemas (`web.schemas`), so a tool answers what the matching `/api/` route answers.

A token-bound tool takes its API token (ps_..., from the settings page /me) from, in this order: its `token`
argument, the HTTP request's `Authorization: Bearer` header (HTTP transport), or the server's default token
(PAPERSCOPE_MCP_TOKEN, used by the stdio transport only: one local client, the token's owner). Tokens are never
logged or echoed: error messages name the token's source, never its value (decision 0091).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import HTTPException
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from paperscope import __version__
from paperscope.config import Settings
from paperscope.errors import InputError, PaperscopeError
from paperscope.feed.trending import parse_period
from paperscope.filter_input import parse_paper_filter
from paperscope.limits import AUTHOR, CATEGORY, COLLECTION_NAME, PAPER_ID, SEARCH_QUERY, SECRET_TOKEN, TAG
from paperscope.models import Paper
from paperscope.store import Store
from paperscope.store.accounts import User
from paperscope.web.bounded import Bounded
from paperscope.web.hints import web_message
from paperscope.web.lookups import papers_out, trending_items
from paperscope.web.params import parse_day
from paperscope.web.routes.api.collections import collection_out
from paperscope.web.schemas import CollectionOut, Page, PaperOut, ScoredPaper, SearchHitOut, SearchPage, TrendingOut
from paperscope.web.services import Services

#: The limits of the web's fields, named as the tools name them.
QUERY = dataclasses.replace(SEARCH_QUERY, field="query")
COLLECTION = dataclasses.replace(COLLECTION_NAME, field="collection")
PaperId = Annotated[str, Bounded(PAPER_ID), Field(description=(
    "A paper id in any spelling: 2503.11731, arXiv:2503.11731v2, a DOI (10.1038/... or doi:10...), pmid:N, "
    "an OpenAlex or Semantic Scholar id"))]
Token = Annotated[str | None, Bounded(SECRET_TOKEN), Field(description=(
    "An API token (ps_...) of the user to act for, from the settings page /me; leave it out when the server has "
    "one (PAPERSCOPE_MCP_TOKEN) or the HTTP client sends 'Authorization: Bearer ps_...'"))]
Limit = Annotated[int, Field(ge=1, le=50, description="How many papers, 1 to 50")]
Offset = Annotated[int, Field(ge=0, le=100_000, description="Papers to skip (paging)")]

INSTRUCTIONS = (
    "paperscope: a research-paper radar. search finds stored papers (hybrid keyword + semantic by default); paper "
    "shows one paper by any id (arXiv id, DOI, pmid:N, ...); similar, citations and trending explore from there. "
    "recommend and collect act for a user and need their API token.")


class CitationsOut(BaseModel):
    """The stored papers a paper cites and the stored papers citing it."""

    paper_id: str = Field(description="The paper's id here (whatever spelling was asked)")
    citation_count: int | None = Field(description="Citations as its source counts them (not only those stored "
                                                   "here)")
    references: Page[PaperOut] = Field(description="Stored papers it cites, newest first")
    cited_by: Page[PaperOut] = Field(description="Stored papers citing it, newest first")


def _paper(services: Services, paper_id: str) -> Paper:
    paper = services.store.get_paper(paper_id.strip())
    if paper is None or services.store.moderation.is_paper_hidden(paper.id):  # hidden by an admin: not there
        raise ToolError(f"paper_id: no paper {paper_id!r} is stored here; find it with the search tool.")
    return paper


def _page(services: Services, found: tuple[list[Paper], int], limit: int, offset: int) -> Page[PaperOut]:
    papers, total = found
    return Page[PaperOut](items=papers_out(services, papers), total=total, limit=limit, offset=offset,
                          next_offset=offset + limit if offset + limit < total else None)


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if the request has one."""
    scheme, _, value = ((headers or {}).get("authorization") or "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


class McpTools:
    """The seven tools over one `Services`; `default_token` acts for callers that send no token of their own."""

    def __init__(self, services: Services, default_token: str | None = None) -> None:
        self.services = services
        self.default_token = default_token

    def token_user(self, token: str | None, ctx: Context) -> User:
        secret = token or bearer_token(ctx.headers) or self.default_token
        if not secret:
            raise ToolError("token: this tool acts for a user and needs their API token (ps_..., created on the "
                            "settings page /me): pass it as token, send it as 'Authorization: Bearer ps_...' over "
                            "HTTP, or start the server with PAPERSCOPE_MCP_TOKEN set.")
        user = self.services.store.sessions.token_user(secret.strip())
        if user is None:
            raise ToolError("token: this API token is not valid (revoked or mistyped); create one on the settings "
                            "page /me.")
        return user

    def search(self, query: Annotated[str, Bounded(QUERY), Field(description="What to look for")],
               mode: Literal["hybrid", "keyword", "semantic"] = "hybrid", limit: Limit = 10, offset: Offset = 0,
               date_from: Annotated[str | None, Field(description="Published on or after, YYYY-MM-DD")] = None,
               date_to: Annotated[str | None, Field(description="Published on or before, YYYY-MM-DD")] = None,
               category: Annotated[str | None, Bounded(CATEGORY), Field(description="A category, e.g. cs.LG")] = None,
               author: Annotated[str | None, Bounded(AUTHOR), Field(description="An author's name or part")] = None,
               ) -> SearchPage:
        """Search the stored papers: hybrid (keyword + semantic, the default), keyword (BM25) or semantic, with
        optional date, category and author filters. "quoted phrases" and prefix* work."""
        services = self.services
        try:
            filters = parse_paper_filter(date_from=date_from, date_to=date_to, category=category, author=author)
        except InputError as exc:  # names the web's fields, "from" and "to"
            raise ToolError(f"date_{exc}") from None
        try:
            results = services.search.search(query.strip(), mode=mode, limit=limit + 1, offset=offset,
                                             filters=filters)
        except PaperscopeError as exc:
            raise ToolError(web_message(exc)) from None
        shown = results[:limit]
        outs = papers_out(services, [p for _, p in shown])
        items = [SearchHitOut(score=round(h.score, 6), keyword_rank=h.keyword_rank, semantic_rank=h.semantic_rank,
                              paper=o) for (h, _), o in zip(shown, outs, strict=True)]
        return SearchPage(query=query.strip(), mode=mode, items=items, total=None, limit=limit, offset=offset,
                          next_offset=offset + limit if len(results) > limit else None)

    def similar(self, paper_id: PaperId, limit: Limit = 10) -> Page[ScoredPaper]:
        """The stored papers closest to a paper: its embedding's neighbours fused with papers tied to it by
        citations."""
        paper = _paper(self.services, paper_id)
        try:
            results = self.services.search.similar(paper.id, limit=limit)
        except PaperscopeError as exc:
            raise ToolError(web_message(exc)) from None
        outs = papers_out(self.services, [p for _, p in results])
        return Page[ScoredPaper](items=[ScoredPaper(score=round(h.score, 6), paper=o)
                                        for (h, _), o in zip(results, outs, strict=True)],
                                 total=len(outs), limit=limit, offset=0, next_offset=None)

    def trending(self, period: Literal["day", "week", "month"] = "day",
                 date: Annotated[str | None, Field(max_length=40, description=(
                     "A day as YYYY-MM-DD; the period holding it (default: the latest day with papers)"))] = None,
                 limit: Limit = 20, offset: Offset = 0) -> TrendingOut:
        """The trending papers of a day, week or month (upvotes here and on the source, recency)."""
        try:
            day = parse_day((date or "").strip() or None)
        except HTTPException as exc:  # the web's rule and message, which names the field
            raise ToolError(str(exc.detail)) from None
        chosen = parse_period(period)
        trend = self.services.trending.page(chosen, day, limit=limit, offset=offset)
        items = trending_items(self.services, trend)
        return TrendingOut(period=chosen, date=trend.date, first=trend.first, last=trend.last,
                           previous=trend.previous, next=trend.next, items=items, total=trend.total, limit=limit,
                           offset=offset, next_offset=offset + limit if offset + limit < trend.total else None)

    def paper(self, paper_id: PaperId) -> PaperOut:
        """One paper's details: title, abstract, authors, dates, links, its ids on every service (arxiv, doi,
        pmid, ...), citation_count and upvotes."""
        return papers_out(self.services, [_paper(self.services, paper_id)])[0]

    def citations(self, paper_id: PaperId, limit: Limit = 20, offset: Offset = 0) -> CitationsOut:
        """The papers stored here that a paper cites (references) and that cite it (cited_by)."""
        paper = _paper(self.services, paper_id)
        store = self.services.store
        return CitationsOut(
            paper_id=paper.id, citation_count=paper.citation_count,
            references=_page(self.services, store.cited_papers(paper.id, limit=limit, offset=offset), limit, offset),
            cited_by=_page(self.services, store.citing_papers(paper.id, limit=limit, offset=offset), limit, offset))

    def recommend(self, ctx: Context, token: Token = None, limit: Limit = 10,
                  tag: Annotated[str | None, Bounded(TAG), Field(description=(
                      "Rank from the papers of this one tag of the owner's alone"))] = None) -> list[dict[str, Any]]:
        """Papers ranked for the token's owner from their library, votes and follows (or from one tag's papers),
        each with the reason (why); none they saved, upvoted or hid. [] when there is nothing to go on yet."""
        user = self.token_user(token, ctx)
        cache = self.services.recommendations
        if cache is None:
            raise ToolError("Recommendations need the optional packages of the digest extra: "
                            "pip install 'paperscope[digest]'.")
        try:
            picks = cache.recommend(self.services.store, self.services.settings, user.id, limit, tag)
        except PaperscopeError as exc:
            raise ToolError(web_message(exc)) from None
        return [r.as_dict() for r in picks]

    def collect(self, ctx: Context, paper_id: PaperId,
                collection: Annotated[str, Bounded(COLLECTION), Field(description=(
                    "One of your collections: its id or its exact name"))],
                create: Annotated[bool, Field(description="Create a private collection of that name when you have "
                                                          "none")] = False,
                token: Token = None) -> CollectionOut:
        """Add a paper to one of the token owner's collections; answers the collection with its paper ids."""
        user = self.token_user(token, ctx)
        accounts = self.services.store.accounts
        paper = _paper(self.services, paper_id)
        wanted = collection.strip()
        owned = accounts.list_collections(user.id, viewer_id=user.id)
        found = next((c for c in owned if str(c.id) == wanted), None) or next(
            (c for c in owned if c.name == wanted), None)
        try:
            if found is None and create:
                found = accounts.create_collection(user.id, wanted)
            if found is None:
                names = ", ".join(f"{c.id} ({c.name})" for c in owned[:20]) or "none yet"
                raise ToolError(f"collection: you have no collection {wanted!r} (yours: {names}); pass create=true "
                                "to make it.")
            accounts.add_to_collection(found.id, [paper.id], owner_id=user.id)
        except InputError as exc:
            raise ToolError(str(exc)) from None
        ids = accounts.collection_paper_ids(found.id, viewer_id=user.id)
        updated = accounts.get_collection(found.id, viewer_id=user.id) or found
        return collection_out(updated, ids)


TOOL_NAMES = ("search", "similar", "trending", "paper", "citations", "recommend", "collect")


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def open_services(settings: Settings, store: Store) -> Services:
    """The web app's services over an open store, as a reader of the search indexes (it never writes them, so
    it runs beside `serve` and `worker`), with the recommender when the digest extra is installed."""
    services = Services.create(settings, store, writes_indexes=False)
    try:
        from paperscope.web.recommendations import RecommendationCache
    except ImportError:
        return services
    services.recommendations = RecommendationCache()
    return services


def create_server(services: Services, *, default_token: str | None = None, log_level: str = "WARNING"
                  ) -> MCPServer:
    """An MCP server with the seven tools over `services` (all but collect annotated read-only)."""
    from mcp.types import ToolAnnotations

    level: LogLevel = "WARNING"
    for known in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        if known == log_level.upper():
            level = known
    server = MCPServer("paperscope", version=__version__, instructions=INSTRUCTIONS, log_level=level)
    tools = McpTools(services, default_token)
    for name in TOOL_NAMES:
        writes = name == "collect"
        server.add_tool(getattr(tools, name), name=name,
                        annotations=ToolAnnotations(read_only_hint=not writes, idempotent_hint=True,
                                                    open_world_hint=False))
    return server
