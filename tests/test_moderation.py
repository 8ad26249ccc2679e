"""Moderation in the store (SQLite and PostgreSQL) and on the command line: admin rights (the first user, `users
admin`), hiding and reporting comments, hiding papers (gone from every query that reads papers for people), blocking
users, and the log every action writes in its own transaction.

Comments are written straight into the `comments` table (`add_comment`): posting them is the comment routes' work."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.errors import InputError
from paperscope.models import Paper
from paperscope.store import PaperFilter, Store, open_store
from paperscope.store.db import inserted_id, write_transaction
from paperscope.store.schema import comments, moderation_log

DAY = dt.date(2026, 3, 2)
PAPERS = [Paper(id="2603.00001", title="Spam about crypto coins", abstract="Buy now.", authors=["Sp Ammer"],
                categories=["cs.LG"], published=DAY, upvotes=50, author_ids=[["orcid:0000-0001-0000-0001"]],
                references=["arxiv:2603.00002"]),
          Paper(id="2603.00002", title="Honest graph partitioning", abstract="Cuts.", authors=["Ada Lovelace"],
                categories=["cs.LG"], published=DAY, upvotes=5, author_ids=[["orcid:0000-0001-0000-0001"]]),
          Paper(id="2603.00003", title="Cited by the spam", abstract="Trees.", authors=["Grace Hopper"],
                categories=["cs.DS"], published=DAY, references=["arxiv:2603.00001"])]
SPAM, HONEST, CITING = (p.id for p in PAPERS)


def add_comment(store: Store, paper_id: str, user_id: int | None, body: str = "A comment.",
                parent_id: int | None = None) -> int:
    """A comment written straight into the table, as the comment routes store one."""
    with write_transaction(store.moderation.engine) as conn:
        return inserted_id(conn.execute(comments.insert().values(
            paper_id=paper_id, user_id=user_id, parent_id=parent_id, body=body,
            created_at=dt.datetime.now(dt.UTC))))


def comment_row(store: Store, comment_id: int) -> sa.RowMapping:
    with store.moderation.engine.connect() as conn:
        return conn.execute(sa.select(comments).where(comments.c.id == comment_id)).mappings().one()


def logged(store: Store) -> list[tuple[int | None, str, str, str]]:
    """The log as (actor, action, kind, target), oldest first."""
    with store.moderation.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(  # type: ignore[misc]
            moderation_log.c.actor_id, moderation_log.c.action, moderation_log.c.target_kind,
            moderation_log.c.target_id).order_by(moderation_log.c.id))]


def _people(store: Store) -> tuple[int, int, int]:
    store.upsert_papers(PAPERS)
    return tuple(store.accounts.create_user(f"{name}@example.org", password_hash=None).id  # type: ignore[return-value]
                 for name in ("admin", "ann", "ben"))


def test_the_first_user_is_the_admin_and_admin_rights_are_logged(store: Store) -> None:
    admin, ann, _ = _people(store)
    assert store.accounts.get_user(admin).is_admin and not store.accounts.get_user(ann).is_admin  # type: ignore[union-attr]
    assert store.moderation.set_admin(ann, True, actor_id=None)
    assert not store.moderation.set_admin(ann, True, actor_id=None)  # no change, nothing logged
    assert store.accounts.get_user(ann).is_admin  # type: ignore[union-attr]
    assert store.moderation.set_admin(ann, False, actor_id=admin, reason="left the lab")
    assert logged(store) == [(None, "make-admin", "user", str(ann)), (admin, "revoke-admin", "user", str(ann))]
    with pytest.raises(InputError, match="no user 999"):
        store.moderation.set_admin(999, True, actor_id=None)


def test_hiding_a_comment_marks_it_resolves_its_reports_and_is_logged(store: Store) -> None:
    admin, ann, ben = _people(store)
    moderation = store.moderation
    comment = add_comment(store, HONEST, ann, "Rude words.")
    reply = add_comment(store, HONEST, ben, "A reply.", parent_id=comment)
    assert moderation.report_comment(comment, ben, "Rude.") and not moderation.report_comment(comment, ben, "Again")
    with pytest.raises(InputError, match="your own comment"):
        moderation.report_comment(comment, ann, "I regret it")
    with pytest.raises(InputError, match="no comment 999"):
        moderation.report_comment(999, ann, "Which?")
    with pytest.raises(InputError, match=r"The reason for the report \(reason\) must not be empty"):
        moderation.report_comment(reply, ann, "  ")
    [report] = moderation.open_reports()
    assert (report.comment_id, report.reporter, report.reason, report.comment_author, report.comment_body) == (
        comment, "ben", "Rude.", "ann", "Rude words.")
    assert moderation.hide_comment(comment, actor_id=admin, reason="insults")
    row = comment_row(store, comment)
    assert row["hidden_at"] is not None and row["hidden_by"] == admin and row["body"] == "Rude words."
    assert comment_row(store, reply)["hidden_at"] is None  # the replies stay as they are
    assert moderation.open_reports() == [] and moderation.get_report(report.id).resolved_at is not None  # type: ignore[union-attr]
    assert not moderation.hide_comment(comment, actor_id=admin)  # already hidden: nothing logged
    assert moderation.unhide_comment(comment, actor_id=admin) and comment_row(store, comment)["hidden_at"] is None
    with pytest.raises(InputError, match="no comment 999"):
        moderation.hide_comment(999, actor_id=admin)
    assert logged(store) == [(ben, "report-comment", "comment", str(comment)),
                             (admin, "hide-comment", "comment", str(comment)),
                             (admin, "unhide-comment", "comment", str(comment))]
    assert [e.action for e in moderation.log_entries()] == ["unhide-comment", "hide-comment", "report-comment"]
    assert moderation.log_entries()[1].actor == "admin" and moderation.log_entries()[1].reason == "insults"


def test_resolving_a_report_leaves_the_comment_shown(store: Store) -> None:
    admin, ann, ben = _people(store)
    comment = add_comment(store, HONEST, ann)
    store.moderation.report_comment(comment, ben, "Not sure about it.")
    [report] = store.moderation.open_reports()
    assert store.moderation.resolve_report(report.id, actor_id=admin)
    assert not store.moderation.resolve_report(report.id, actor_id=admin)
    assert store.moderation.open_reports() == [] and comment_row(store, comment)["hidden_at"] is None
    assert logged(store)[-1] == (admin, "resolve-report", "comment", str(comment))


def test_an_action_and_its_log_entry_commit_together(store: Store) -> None:
    """A refused action logs nothing; a logged action happened (the row and the entry in one transaction)."""
    admin, ann, _ = _people(store)
    with pytest.raises(InputError, match="admins cannot be blocked"):
        store.moderation.block_user(admin, actor_id=None)
    with pytest.raises(InputError, match=r"The reason \(reason\) must be at most 500"):
        store.moderation.hide_paper(SPAM, actor_id=admin, reason="x" * 501)
    with pytest.raises(InputError, match="Unknown paper id"):
        store.moderation.hide_paper("2603.09999", actor_id=admin)
    assert logged(store) == [] and store.moderation.hidden_paper_ids() == set()
    assert not store.accounts.get_user(admin).blocked  # type: ignore[union-attr]


def test_a_hidden_paper_is_left_out_of_every_query_that_reads_papers_for_people(store: Store) -> None:
    admin, ann, _ = _people(store)
    store.accounts.vote(ann, SPAM)
    everything = PaperFilter()
    assert SPAM in store.get_papers([SPAM, HONEST]) and store.list_papers(everything)[1] == 3
    assert store.moderation.hide_paper(SPAM, actor_id=admin, reason="spam")
    assert not store.moderation.hide_paper(SPAM, actor_id=admin)
    assert store.get_papers([SPAM, HONEST]).keys() == {HONEST}
    listed, total, more = store.list_papers(everything)
    assert {p.id for p in listed} == {HONEST, CITING} and total == 2 and not more
    assert store.list_papers(PaperFilter(category="cs.LG")) == ([store.get_paper(HONEST)], 1, False)
    assert {c.id for c in store.trending_candidates(DAY, DAY)} == {HONEST, CITING}
    assert store.cited_papers(CITING) == ([], 0) and store.citing_papers(HONEST) == ([], 0)
    author = store.authors.get_author("orcid:0000-0001-0000-0001")
    assert author is not None
    assert [p.id for p in store.authors.papers_of(author.id)[0]] == [HONEST]
    # The look-up by any id still finds it: the web shows it to admins alone.
    assert store.get_paper(SPAM) is not None and store.moderation.is_paper_hidden(SPAM)
    [hidden] = store.moderation.hidden_papers()
    assert (hidden.paper_id, hidden.title, hidden.hidden_by, hidden.reason) == (SPAM, PAPERS[0].title, "admin", "spam")
    assert store.moderation.unhide_paper(SPAM, actor_id=admin) and not store.moderation.unhide_paper(SPAM, actor_id=1)
    assert SPAM in store.get_papers([SPAM]) and store.list_papers(everything)[1] == 3
    assert {c.id for c in store.trending_candidates(DAY, DAY)} == {SPAM, HONEST, CITING}
    assert [a for _, a, _, _ in logged(store)] == ["hide-paper", "unhide-paper"]


def test_a_hidden_paper_stays_hidden_when_another_record_merges_into_it(store: Store) -> None:
    admin, _, _ = _people(store)
    store.moderation.hide_paper(SPAM, actor_id=admin)
    store.upsert_papers([Paper(id=SPAM, title="Spam about crypto coins, v2", abstract="Buy now!", authors=["Sp Ammer"],
                               categories=["cs.LG"], published=DAY)])
    assert store.moderation.hidden_paper_ids() == {SPAM} and store.get_papers([SPAM]) == {}


def test_a_blocked_users_public_collections_are_shown_to_nobody_else(store: Store) -> None:
    admin, ann, ben = _people(store)
    shared = store.accounts.create_collection(ann, "Shared", public=True)
    assert store.moderation.block_user(ann, actor_id=admin, reason="spam collections")
    assert store.accounts.get_user(ann).blocked and not store.moderation.block_user(ann, actor_id=admin)  # type: ignore[union-attr]
    assert [u.email for u in store.moderation.blocked_users()] == ["ann@example.org"]
    assert store.accounts.get_collection(shared.id, viewer_id=ben) is None
    assert store.accounts.list_collections(ann, viewer_id=None) == []
    assert store.accounts.get_collection(shared.id, viewer_id=ann) is not None  # their own, as ever
    assert store.moderation.unblock_user(ann, actor_id=admin)
    assert store.accounts.get_collection(shared.id, viewer_id=ben) is not None
    assert [a for _, a, _, _ in logged(store)] == ["block-user", "unblock-user"]
    store.moderation.block_user(ann, actor_id=admin)
    assert store.moderation.set_admin(ann, True, actor_id=None)  # an admin is never blocked: the block goes
    assert not store.accounts.get_user(ann).blocked  # type: ignore[union-attr]
    assert [a for _, a, _, _ in logged(store)][-2:] == ["unblock-user", "make-admin"]


# The command line --------------------------------------------------------------------------------------------

def test_users_admin_block_and_list_on_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    cli = CliRunner(env={"PAPERSCOPE_DATABASE_URL": str(db), "PAPERSCOPE_EMBEDDING_MODEL": "hashing"})
    for email in ("first@example.org", "second@example.org", "third@example.org"):
        assert cli.invoke(main, ["users", "add", email]).exit_code == 0
    made = cli.invoke(main, ["users", "admin", "second@example.org"])
    assert made.exit_code == 0 and "second@example.org is now an admin" in made.output
    assert "already an admin" in cli.invoke(main, ["users", "admin", "second@example.org"]).output
    blocked = cli.invoke(main, ["users", "block", "third@example.org", "--reason", "spam"])
    assert blocked.exit_code == 0 and "third@example.org is now blocked" in blocked.output
    refused = cli.invoke(main, ["users", "block", "first@example.org"])
    assert refused.exit_code == 1 and "admins cannot be blocked" in refused.output and "--" not in refused.output
    unknown = cli.invoke(main, ["users", "admin", "nobody@example.org"])
    assert unknown.exit_code == 1 and "No user with e-mail nobody@example.org" in unknown.output
    listed = {u["email"]: u for u in json.loads(cli.invoke(main, ["users", "list", "--json"]).output)}
    assert [(u["is_admin"], u["blocked"], u["handle"]) for u in listed.values()] == [
        (True, False, "first"), (True, False, "second"), (False, True, "third")]
    text = cli.invoke(main, ["users", "list"]).output.splitlines()
    assert "@first  admin" in text[0] and "@third  blocked" in text[2]
    revoked = cli.invoke(main, ["users", "admin", "second@example.org", "--revoke"])
    assert revoked.exit_code == 0 and "no longer an admin" in revoked.output
    assert "no longer blocked" in cli.invoke(main, ["users", "unblock", "third@example.org"]).output
    with open_store(str(db)) as store:
        assert [(e.actor, e.action, e.target_id) for e in reversed(store.moderation.log_entries())] == [
            (None, "make-admin", "2"), (None, "block-user", "3"), (None, "revoke-admin", "2"),
            (None, "unblock-user", "3")]
        assert store.moderation.log_entries()[-2].reason == "spam"
