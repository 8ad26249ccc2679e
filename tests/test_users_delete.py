"""`paperscope users delete EMAIL [--yes]`: the user and everything theirs go in one transaction, after a
confirmation that says how much; other users and the papers stay. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from paperscope.cli import main
from paperscope.models import Paper
from paperscope.store import Store, open_store
from tests.conftest import fresh_database

PAPERS = [Paper(id=f"2601.0000{i}", title=f"Paper {i}", abstract="An abstract.", authors=["A. Author"],
                categories=["cs.LG"]) for i in range(1, 4)]


def _fill(store: Store, email: str) -> int:
    """A user with something in every kind of record a user keeps; returns the id."""
    accounts = store.accounts
    user = accounts.create_user(email, password_hash="not-a-real-hash")
    accounts.set_library_state(user.id, ["2601.00001"], "saved")
    accounts.set_library_state(user.id, ["2601.00002"], "hidden")
    accounts.add_tag(user.id, "2601.00001", "to-read")
    accounts.vote(user.id, "2601.00003")
    private = accounts.create_collection(user.id, "Private notes")
    shared = accounts.create_collection(user.id, f"Shared by {email}", public=True)
    accounts.add_to_collection(shared.id, ["2601.00001", "2601.00003"], owner_id=user.id)
    accounts.add_to_collection(private.id, ["2601.00002"], owner_id=user.id)
    store.sessions.create_api_token(user.id, "laptop")
    store.sessions.create_session(user.id, dt.timedelta(days=1))
    store.digests.subscribe(user.id)
    store.digests.follow(user.id, "query", "robot grasping")
    store.digests.feed_token(user.id)
    store.digests.unsubscribe(user.id, source="cli")
    store.submissions.add(user.id, "2601.00003", paper_id="2601.00003", status="added", message="Added.")
    store.notes.set_note(user.id, "2601.00001", f"Private: what {email} thinks")
    return user.id


def _cli(url: str) -> CliRunner:
    return CliRunner(env={"PAPERSCOPE_DATABASE_URL": url, "PAPERSCOPE_EMBEDDING_MODEL": "hashing"})


def test_users_delete_takes_everything_of_theirs_and_nothing_else(tmp_path: Path, backend: str) -> None:
    with fresh_database(backend, tmp_path) as url:
        with open_store(url) as store:
            store.upsert_papers(PAPERS)
            doomed = _fill(store, "mallory@example.org")
            kept = _fill(store, "alice@example.org")
            before = store.accounts.user_data(doomed)
        assert all(before.counts[k] for k in ("saved or hidden papers", "tags", "votes", "collections",
                                               "API tokens", "sign-in sessions", "digest subscriptions", "follows",
                                               "submissions", "unsubscribes", "private feed tokens", "private notes"))
        cli = _cli(url)

        refused = cli.invoke(main, ["users", "delete", "mallory@example.org"], input="n\n")
        assert refused.exit_code == 1 and "Aborted" in refused.output
        assert "mallory@example.org (id 1) keeps: 2 saved or hidden papers, 1 tags, 1 votes, 2 collections" \
            in refused.output
        assert "1 public collection(s) that others can read go too: 'Shared by mallory@example.org'" in refused.output
        with open_store(url) as store:
            assert store.accounts.user_data(doomed) == before  # nothing went

        done = cli.invoke(main, ["users", "delete", "Mallory@Example.org"], input="y\n")
        assert done.exit_code == 0, done.output
        assert "deleted mallory@example.org: 2 saved or hidden papers" in done.output
        with open_store(url) as store:
            assert store.accounts.get_user_by_email("mallory@example.org") is None
            assert not any(store.accounts.user_data(doomed).counts.values())
            assert store.accounts.user_data(kept).counts == before.counts  # the other user's, untouched
            assert store.accounts.vote_counts([p.id for p in PAPERS]) == {"2601.00003": 1}
            assert sorted(store.get_papers([p.id for p in PAPERS])) == [p.id for p in PAPERS]
            public = store.accounts.list_collections(kept, viewer_id=None)
            assert [c.name for c in public] == ["Shared by alice@example.org"] and public[0].size == 2

        unknown = cli.invoke(main, ["users", "delete", "mallory@example.org", "--yes"])
        assert unknown.exit_code == 1 and "No user with e-mail mallory@example.org" in unknown.output
        quiet = cli.invoke(main, ["users", "delete", "alice@example.org", "--yes"])
        assert quiet.exit_code == 0 and "deleted alice@example.org" in quiet.output
        with open_store(url) as store:
            assert store.accounts.list_users() == []
