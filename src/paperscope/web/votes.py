"""Votes: the one place a vote is cast, for the page's button and the JSON API alike."""

from __future__ import annotations

from paperscope.feed.trending import upvotes_of
from paperscope.models import Paper
from paperscope.web.services import Services


def cast_vote(services: Services, user_id: int, paper: Paper, *, up: bool) -> int:
    """Record (or, with `up=False`, withdraw) the user's vote, move the paper in the cached trending rankings,
    and return the paper's upvotes now. InputError when the store refuses the vote."""
    if services.store.accounts.vote(user_id, paper.id, up=up):
        services.trending.record_vote(paper.id, 1 if up else -1)
    return upvotes_of(services.store, [paper])[paper.id]
