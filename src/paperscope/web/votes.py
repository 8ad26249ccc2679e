"""Votes: the one place a vote is cast, for the page's button and the JSON API alike."""

from __future__ import annotations

from paperscope.feed.trending import upvotes_of
from paperscope.models import Paper
from paperscope.store.accounts import User
from paperscope.web.moderation import refuse_blocked
from paperscope.web.services import Services


def cast_vote(services: Services, user: User, paper: Paper, *, up: bool) -> int:
    """Record (or, with `up=False`, withdraw) the user's vote, move the paper in the cached trending rankings,
    and return the paper's upvotes now. 403 for a blocked user; InputError when the store refuses the vote."""
    refuse_blocked(user, "vote")
    if services.store.accounts.vote(user.id, paper.id, up=up):
        services.trending.record_vote(paper.id, 1 if up else -1)
    return upvotes_of(services.store, [paper])[paper.id]
