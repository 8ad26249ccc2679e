"""Notifications, followed discussions, comment counts and the most-discussed order, in the store (SQLite and
PostgreSQL): who a comment notifies and of what kind, reading and marking one's own only, counts that leave out
deleted and hidden comments."""

from __future__ import annotations

import datetime as dt

import pytest

from paperscope.discussion.notify import notify_about_comment
from paperscope.errors import InputError
from paperscope.feed.trending import TrendingFeed
from paperscope.models import Paper
from paperscope.store import Store
from paperscope.store.schema import hidden_papers, users
from tests.notification_support import add_comment, set_comment

DAY = dt.date(2026, 3, 10)
NOON = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
PAPERS = [Paper(id=f"2603.0000{i}", title=f"Paper {i}", abstract="An abstract.", authors=["A. Author"],
                categories=["cs.LG"], published=DAY, upvotes=i) for i in range(1, 6)]


def _people(store: Store) -> dict[str, int]:
    store.upsert_papers(PAPERS)
    return {name: store.accounts.create_user(f"{name}@example.org", password_hash=None).id
            for name in ("ann", "ben", "cy", "dee", "eve")}


def _kinds(store: Store, user_id: int) -> list[tuple[str, int]]:
    return [(n.kind, n.comment_id) for n in store.notifications.list_for(user_id)]


def _block(store: Store, user_id: int) -> None:
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(users.update().where(users.c.id == user_id).values(blocked_at=NOON))


def test_a_reply_notifies_the_parent_author_mentions_the_named_and_followers_the_rest(store: Store) -> None:
    who = _people(store)
    paper = PAPERS[0].id
    store.notifications.follow(who["cy"], paper)
    store.notifications.follow(who["dee"], paper)
    first = add_comment(store, paper, who["ann"], "A first thought.")
    assert sorted(notify_about_comment(store, first)) == sorted([who["cy"], who["dee"]])
    assert store.notifications.is_following(who["ann"], paper)  # writing a comment follows the discussion
    # ben replies to ann and mentions dee (a follower: the mention wins), eve (no follower), himself and a stranger
    reply = add_comment(store, paper, who["ben"], "Right; @dee, @EVE see `@cy` and @ben @nobody ann@example.org",
                        parent_id=first)
    notified = notify_about_comment(store, reply)
    assert sorted(notified) == sorted([who["ann"], who["cy"], who["dee"], who["eve"]])
    assert _kinds(store, who["ann"]) == [("reply", reply)]  # an address is no mention
    assert _kinds(store, who["dee"]) == [("mention", reply), ("discussion", first)]
    assert _kinds(store, who["eve"]) == [("mention", reply)]
    assert _kinds(store, who["cy"]) == [("discussion", reply), ("discussion", first)]  # `@cy` in code names nobody
    assert _kinds(store, who["ben"]) == []  # never the author
    assert notify_about_comment(store, reply) == []  # once per (user, comment)
    assert store.notifications.unread_count(who["dee"]) == 2


def test_a_mention_wins_over_a_reply_and_a_blocked_authors_mentions_notify_nobody(store: Store) -> None:
    who = _people(store)
    paper = PAPERS[1].id
    first = add_comment(store, paper, who["ann"], "Question.")
    notify_about_comment(store, first)
    answer = add_comment(store, paper, who["ben"], "@ann here is the answer", parent_id=first)
    notify_about_comment(store, answer)
    assert _kinds(store, who["ann"]) == [("mention", answer)]
    _block(store, who["eve"])
    spam = add_comment(store, paper, who["eve"], "@ben @cy buy now", parent_id=answer)
    assert notify_about_comment(store, spam) == [who["ann"], who["ben"]]  # ann follows; ben: the reply
    assert _kinds(store, who["ben"])[0] == ("reply", spam) and _kinds(store, who["cy"]) == []


def test_deleted_and_hidden_comments_notify_nobody_and_drop_out_of_lists(store: Store) -> None:
    who = _people(store)
    paper = PAPERS[2].id
    store.notifications.follow(who["ann"], paper)
    assert notify_about_comment(store, add_comment(store, paper, who["ben"], "gone", deleted=True)) == []
    assert notify_about_comment(store, add_comment(store, paper, who["ben"], "hidden", hidden=True)) == []
    shown = add_comment(store, paper, who["ben"], "@cy look")
    notify_about_comment(store, shown)
    assert store.notifications.unread_count(who["ann"]) == 1 and store.notifications.unread_count(who["cy"]) == 1
    set_comment(store, shown, hidden_at=NOON)  # a moderator hides it afterwards: its notifications go too
    assert store.notifications.list_for(who["ann"]) == [] and store.notifications.unread_count(who["cy"]) == 0


def test_notifications_list_unread_first_and_only_their_owner_marks_them(store: Store) -> None:
    who = _people(store)
    paper = PAPERS[0].id
    ids = []
    for n in range(3):
        comment = add_comment(store, paper, who["ben"], f"@ann number {n}", at=NOON + dt.timedelta(minutes=n))
        notify_about_comment(store, comment)
        ids.append(comment)
    mine = store.notifications.list_for(who["ann"])
    assert [n.comment_id for n in mine] == ids[::-1] and all(n.unread for n in mine)
    assert mine[0].who == "@ben" and mine[0].paper_title == "Paper 1" and mine[0].body == "@ann number 2"
    others = add_comment(store, paper, who["ann"], "@cy hello")
    notify_about_comment(store, others)
    cys = store.notifications.list_for(who["cy"])
    assert store.notifications.mark_read(who["ann"], [cys[0].id]) == 0  # another's id marks nothing
    assert store.notifications.unread_count(who["cy"]) == 1
    assert store.notifications.mark_read(who["ann"], [mine[1].id]) == 1
    assert [n.comment_id for n in store.notifications.list_for(who["ann"])] == [ids[2], ids[0], ids[1]]
    assert store.notifications.mark_read(who["ann"]) == 2 and store.notifications.unread_count(who["ann"]) == 0
    assert store.notifications.unread_count(who["cy"]) == 1  # "all" is all of ann's, none of cy's
    assert store.notifications.count_for(who["ann"]) == 3


def test_following_a_discussion_and_the_email_choice(store: Store) -> None:
    who = _people(store)
    notes = store.notifications
    assert notes.follow(who["ann"], PAPERS[0].id) and not notes.follow(who["ann"], PAPERS[0].id)
    assert notes.followers(PAPERS[0].id) == [who["ann"]]
    assert notes.unfollow(who["ann"], PAPERS[0].id) and not notes.unfollow(who["ann"], PAPERS[0].id)
    with pytest.raises(InputError, match="Unknown paper id"):
        notes.follow(who["ann"], "2603.09999")
    assert notes.email_choice(who["ann"]) == "digest"
    assert notes.set_email_choice(who["ann"], "immediate") == "immediate"
    assert store.accounts.get_user(who["ann"]).notify_email == "immediate"  # type: ignore[union-attr]
    with pytest.raises(InputError, match=r"\(notify_email\) must be one of off, digest, immediate"):
        notes.set_email_choice(who["ann"], "hourly")


def test_deleting_a_user_takes_their_notifications_and_follows(store: Store) -> None:
    who = _people(store)
    store.notifications.follow(who["ann"], PAPERS[0].id)
    notify_about_comment(store, add_comment(store, PAPERS[0].id, who["ben"], "@ann hi"))
    store.accounts.delete_user(who["ann"])
    assert store.notifications.list_for(who["ann"]) == [] and store.notifications.followers(PAPERS[0].id) == [
        who["ben"]]


def test_comment_counts_leave_out_deleted_and_hidden_comments(store: Store) -> None:
    who = _people(store)
    a, b, c = (p.id for p in PAPERS[:3])
    add_comment(store, a, who["ann"], "one")
    add_comment(store, a, who["ben"], "two")
    add_comment(store, a, who["ben"], "deleted", deleted=True)
    add_comment(store, a, who["ben"], "hidden", hidden=True)
    add_comment(store, b, None, "an account since deleted")
    add_comment(store, c, who["ann"], "hidden", hidden=True)
    assert store.comment_counts([a, b, c, PAPERS[3].id]) == {a: 2, b: 1}


def test_most_discussed_ranks_by_comments_in_the_window_then_upvotes(store: Store) -> None:
    who = _people(store)
    p1, p2, p3, p4, p5 = (p.id for p in PAPERS)
    for paper, count in ((p1, 2), (p2, 3), (p3, 2), (p4, 1)):
        for n in range(count):
            add_comment(store, paper, who["ann"], f"comment {n}", at=NOON + dt.timedelta(minutes=n))
    add_comment(store, p4, who["ann"], "yesterday", at=NOON - dt.timedelta(days=1))  # outside the day's window
    add_comment(store, p4, who["ann"], "deleted", at=NOON, deleted=True)
    add_comment(store, p4, who["ann"], "hidden", at=NOON, hidden=True)
    add_comment(store, p5, who["ann"], "on a hidden paper", at=NOON)
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(hidden_papers.insert().values(paper_id=p5, hidden_by=who["ann"], reason="spam", hidden_at=NOON))
    store.accounts.vote(who["ben"], p1)
    store.accounts.vote(who["cy"], p1)  # p1: 1 + 2 votes = 3 upvotes, p3: 3 upvotes; tie on both: newer, then id
    feed = TrendingFeed(store)
    day = feed.page("day", DAY, today=DAY, order="discussed")
    assert [(e.paper.id, e.score, e.upvotes) for e in day.entries] == [
        (p2, 3.0, 2), (p1, 2.0, 3), (p3, 2.0, 3), (p4, 1.0, 4)]
    assert day.order == "discussed" and day.total == 4
    week = feed.page("week", DAY, today=DAY, order="discussed", exclude={p2})
    assert [e.paper.id for e in week.entries] == [p4, p1, p3] and week.total == 3  # p4: two within the week
    assert [e.paper.id for e in feed.page("day", DAY, today=DAY, order="discussed", offset=1, limit=2).entries] == [
        p1, p3]
    upvoted = feed.page("day", DAY, today=DAY)
    assert upvoted.order == "upvotes" and [e.upvotes for e in upvoted.entries] == sorted(
        (e.upvotes for e in upvoted.entries), reverse=True)  # the upvote order is unchanged
    assert p5 not in {e.paper.id for e in upvoted.entries}  # hidden by an admin: in no order


def test_a_comment_counts_in_the_order_at_once(store: Store) -> None:
    who = _people(store)
    feed = TrendingFeed(store)
    assert feed.page("day", DAY, today=DAY, order="discussed").entries == []
    add_comment(store, PAPERS[0].id, who["ann"], "first", at=NOON)
    assert [e.paper.id for e in feed.page("day", DAY, today=DAY, order="discussed").entries] == [PAPERS[0].id]

