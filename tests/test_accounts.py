"""Accounts: users, library (saved / hidden), tags, votes, collections and their privacy."""

from __future__ import annotations

import pytest

from paperscope.errors import InputError
from paperscope.models import Paper
from paperscope.store import Store


def _papers(store: Store, *ids: str) -> None:
    store.upsert_papers([Paper(id=i, title=f"Paper {i}", abstract="About clustering.") for i in ids])


def test_users_are_unique_by_normalised_email(store: Store) -> None:
    user = store.accounts.create_user(" Ada@Example.org ", display_name="Ada")
    assert user.email == "ada@example.org" and not user.can_sign_in
    assert store.accounts.get_user_by_email("ADA@example.org") == user
    with pytest.raises(InputError, match="already exists"):
        store.accounts.create_user("ada@example.org")
    with pytest.raises(InputError, match="not an e-mail address"):
        store.accounts.create_user("ada")
    with pytest.raises(InputError, match="paperscope users add"):
        store.accounts.require_user("bob@example.org")


def test_saving_and_hiding_exclude_each_other(store: Store) -> None:
    _papers(store, "2501.00001", "2501.00002")
    user = store.accounts.create_user("ada@example.org")
    assert store.accounts.set_library_state(user.id, ["2501.00001", "2501.00002"], "saved") == 2
    assert store.accounts.set_library_state(user.id, ["2501.00001"], "saved") == 0  # idempotent
    store.accounts.set_library_state(user.id, ["2501.00002"], "hidden")
    assert store.accounts.library_ids(user.id) == ["2501.00001"]
    assert store.accounts.library_ids(user.id, "hidden") == ["2501.00002"]
    with pytest.raises(InputError, match="Unknown paper id"):
        store.accounts.set_library_state(user.id, ["9999.99999"], "saved")
    assert store.accounts.library_ids(user.id) == ["2501.00001"]  # the failed call changed nothing


def test_one_vote_per_user_per_paper(store: Store) -> None:
    _papers(store, "2501.00001")
    ada = store.accounts.create_user("ada@example.org")
    bob = store.accounts.create_user("bob@example.org")
    assert store.accounts.vote(ada.id, "2501.00001")
    assert not store.accounts.vote(ada.id, "2501.00001")
    store.accounts.vote(bob.id, "2501.00001")
    assert store.accounts.vote_counts(["2501.00001"]) == {"2501.00001": 2}
    assert store.accounts.vote(bob.id, "2501.00001", up=False)
    assert store.accounts.vote_counts(["2501.00001"]) == {"2501.00001": 1}


def test_tags_save_the_paper(store: Store) -> None:
    _papers(store, "2501.00001")
    user = store.accounts.create_user("ada@example.org")
    store.accounts.add_tag(user.id, "2501.00001", "clustering")
    store.accounts.add_tag(user.id, "2501.00001", "clustering")
    assert store.accounts.tags_of(user.id) == {"clustering": ["2501.00001"]}
    assert store.accounts.library_ids(user.id) == ["2501.00001"]


def test_private_collections_stay_private(store: Store) -> None:
    _papers(store, "2501.00001")
    ada = store.accounts.create_user("ada@example.org")
    bob = store.accounts.create_user("bob@example.org")
    private = store.accounts.create_collection(ada.id, "reading group")
    shared = store.accounts.create_collection(ada.id, "shared", public=True)
    store.accounts.add_to_collection(private.id, ["2501.00001"], owner_id=ada.id)
    assert store.accounts.collection_paper_ids(private.id, viewer_id=ada.id) == ["2501.00001"]
    assert store.accounts.collection_paper_ids(private.id, viewer_id=bob.id) is None
    assert store.accounts.get_collection(private.id, viewer_id=None) is None
    assert [c.name for c in store.accounts.list_collections(ada.id, viewer_id=bob.id)] == ["shared"]
    with pytest.raises(InputError, match="no collection"):
        store.accounts.add_to_collection(private.id, ["2501.00001"], owner_id=bob.id)
    with pytest.raises(InputError, match="no collection"):
        store.accounts.delete_collection(shared.id, owner_id=bob.id)
    assert store.accounts.get_collection(private.id, viewer_id=ada.id).size == 1  # type: ignore[union-attr]


def test_user_marks_follow_a_title_only_record_into_its_arxiv_record(store: Store) -> None:
    store.upsert_papers([Paper(id="title-abc", title="Deep Clustering at Scale", abstract="x",
                               authors=["Ada Lovelace"])])
    (derived,) = [p.id for p in store.iter_papers()]
    user = store.accounts.create_user("ada@example.org")
    store.accounts.add_tag(user.id, derived, "to read")
    store.accounts.vote(user.id, derived)
    store.upsert_papers([Paper(id="2501.00009", title="Deep clustering at scale", abstract="x",
                               authors=["Ada Lovelace"])])
    assert [p.id for p in store.iter_papers()] == ["2501.00009"]
    assert store.accounts.library_ids(user.id) == ["2501.00009"]
    assert store.accounts.tags_of(user.id) == {"to read": ["2501.00009"]}
    assert store.accounts.voted_ids(user.id) == ["2501.00009"]


def test_concurrent_writers_on_separate_connections_never_fail_with_a_locked_database(database_url: str) -> None:
    """Four connections (as four web processes would) vote at once; each vote reads, then writes. On SQLite
    a plain BEGIN would fail such a transaction with "database is locked" whenever another committed first."""
    import threading

    from paperscope.store import open_store

    papers = [Paper(id=f"2601.{n:05d}", title=f"Paper {n}") for n in range(20)]
    stores = [open_store(database_url) for _ in range(4)]
    try:
        stores[0].upsert_papers(papers)
        voters = [stores[0].accounts.create_user(f"voter{n}@example.org").id for n in range(4)]
        failures: list[BaseException] = []

        def vote_many(store: Store, user_id: int) -> None:
            try:
                for round_ in range(3):
                    for paper in papers:
                        store.accounts.vote(user_id, paper.id, up=round_ != 1)
            except BaseException as exc:  # noqa: BLE001 (reported below)
                failures.append(exc)

        threads = [threading.Thread(target=vote_many, args=(s, u)) for s, u in zip(stores, voters, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert stores[0].accounts.vote_counts([p.id for p in papers]) == {p.id: 4 for p in papers}
    finally:
        for store in stores:
            store.close()
