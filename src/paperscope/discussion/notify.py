"""Who hears of a new comment: the author of the comment it replies to, the users it mentions, and the
followers of the paper's discussion; one notification each, of the strongest kind that applies.

E-mail is not sent here: a user who chose "immediate" is e-mailed by the next outbox run (digest/notify_mail.py,
called by `paperscope digest send` and the background jobs), one who chose "digest" in their next digest.
"""

from __future__ import annotations

from paperscope.discussion.mentions import mentioned_handles
from paperscope.store import Store
from paperscope.store.notifications import CommentFacts, NotificationKind


def recipients_of(store: Store, facts: CommentFacts) -> dict[int, NotificationKind]:
    """Each user to notify of the comment with the kind: "mention" wins over "reply" over "discussion".
    Never its author; a blocked author's mentions notify nobody; a deleted or hidden comment notifies nobody."""
    if not facts.visible:
        return {}
    chosen: dict[int, NotificationKind] = {}
    for follower in store.notifications.followers(facts.paper_id):
        chosen[follower] = "discussion"
    if facts.parent_author_id is not None:
        chosen[facts.parent_author_id] = "reply"
    if not facts.author_blocked:
        for user_id in store.notifications.users_with_handles(mentioned_handles(facts.body)).values():
            chosen[user_id] = "mention"
    if facts.author_id is not None:
        chosen.pop(facts.author_id, None)
    return chosen


def notify_about_comment(store: Store, comment_id: int) -> list[int]:
    """Record the notifications a newly stored comment causes, and make its author follow the paper's discussion;
    returns the ids of the users notified now (calling it again for the same comment notifies nobody twice)."""
    facts = store.notifications.comment_facts(comment_id)
    if facts is None:
        return []
    if facts.author_id is not None:
        store.notifications.follow(facts.author_id, facts.paper_id)
    return store.notifications.record(comment_id, recipients_of(store, facts))
