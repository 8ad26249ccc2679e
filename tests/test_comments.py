"""Comments on papers: the store (SQLite and PostgreSQL: threads, own edits and deletes, what readers and admins
see, blocked accounts, deleted accounts, merged papers) and the HTML a comment is rendered to (sanitised Markdown
with math, paper ids linked, mentions marked)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.discussion.render import render_comment
from paperscope.errors import InputError, NotPermitted
from paperscope.limits import COMMENT
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.store.comments import reading_order
from paperscope.store.schema import comments, hidden_papers, users

PAPERS = [Paper(id=f"2601.0000{i}", title=f"Paper {i}", abstract="An abstract.", authors=["A. Author"],
                categories=["cs.LG"]) for i in range(1, 4)]
HOSTILE = ('Read **this** with $x^2$.\n\n<script>alert(1)</script><img src=x onerror="alert(2)">\n\n'
           '<a href="javascript:alert(3)" onclick="alert(4)">click</a> [md](javascript:alert(5)) '
           '<iframe src="https://evil.example"></iframe><b onmouseover="alert(6)">bold</b> '
           '<a class="paper-ref" href="javascript:alert(7)">2601.00001</a> <span class="mention">@nobody</span>')


def _people(store: Store) -> tuple[int, int, int]:
    """An admin (the first user), and two readers."""
    store.upsert_papers(PAPERS)
    return tuple(store.accounts.create_user(f"{name}@example.org", password_hash=None).id  # type: ignore[return-value]
                 for name in ("admin", "ann", "ben"))


def _set(store: Store, table: sa.Table, where: sa.ColumnElement[bool], **values: object) -> None:
    """Moderation state straight in the database (moderating is another part's job)."""
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(table.update().where(where).values(**values))


def _thread(store: Store, paper_id: str, *, admin: bool = False) -> list[tuple[int, int, str]]:
    return [(depth, c.id, c.body) for depth, c in reading_order(store.comments.thread(paper_id, admin=admin))]


def test_a_thread_has_replies_in_reading_order(store: Store) -> None:
    _, ann, ben = _people(store)
    first = store.comments.add(ann, "2601.00001", "First, with $x^2$.")
    second = store.comments.add(ben, "2601.00001", "Second thread.")
    reply = store.comments.add(ben, "2601.00001", "Reply to the first.", parent_id=first.id)
    deeper = store.comments.add(ann, "2601.00001", "Reply to the reply.", parent_id=reply.id)
    store.comments.add(ann, "2601.00002", "Elsewhere.")
    assert _thread(store, "2601.00001") == [(0, first.id, "First, with $x^2$."), (1, reply.id, "Reply to the first."),
                                            (2, deeper.id, "Reply to the reply."), (0, second.id, "Second thread.")]
    assert first.author_handle == "ann" and reply.parent_id == first.id and first.edited_at is None
    assert store.comments.get(reply.id) == reply


def test_only_its_author_edits_or_deletes_a_comment_and_edits_are_marked(store: Store) -> None:
    _, ann, ben = _people(store)
    mine = store.comments.add(ann, "2601.00001", "Original.")
    reply = store.comments.add(ben, "2601.00001", "Ben's reply.", parent_id=mine.id)
    for attempt in (lambda: store.comments.edit(mine.id, ben, "Ben was here."),
                    lambda: store.comments.delete(mine.id, ben)):
        with pytest.raises(NotPermitted, match=f"Comment {mine.id} is not yours"):
            attempt()
    assert store.comments.get(mine.id) == mine  # untouched
    unchanged = store.comments.edit(mine.id, ann, "Original.")
    assert unchanged is not None and unchanged.edited_at is None  # the same text is no edit
    edited = store.comments.edit(mine.id, ann, "Corrected.")
    assert edited is not None and edited.body == "Corrected." and edited.edited_at is not None
    deleted = store.comments.delete(mine.id, ann)
    assert deleted is not None and deleted.deleted and deleted.body == "" and deleted.author_handle is None
    with pytest.raises(InputError, match="was deleted; it cannot be edited"):
        store.comments.edit(mine.id, ann, "Back again.")
    with pytest.raises(InputError, match=r"parent_id .* was deleted"):
        store.comments.add(ben, "2601.00001", "A reply to nothing.", parent_id=mine.id)
    # The deleted comment stays as a placeholder for Ben's reply, which is untouched.
    assert _thread(store, "2601.00001") == [(0, mine.id, ""), (1, reply.id, "Ben's reply.")]
    assert store.comments.edit(9999, ann, "x") is None and store.comments.delete(9999, ann) is None


@pytest.mark.parametrize(("body", "message"), [
    ("x" * (COMMENT.max_length + 1), "at most 10,000 characters"), ("  \n ", "must not be empty"),
    ("bell \x07", "control characters")])
def test_a_comment_beyond_its_limit_is_refused_naming_the_field(store: Store, body: str, message: str) -> None:
    _, ann, _ = _people(store)
    with pytest.raises(InputError, match=rf"The comment \(body\) .*{message}"):
        store.comments.add(ann, "2601.00001", body)
    kept = store.comments.add(ann, "2601.00001", "Fine.")
    with pytest.raises(InputError, match=rf"The comment \(body\) .*{message}"):
        store.comments.edit(kept.id, ann, body)
    assert _thread(store, "2601.00001") == [(0, kept.id, "Fine.")]


def test_a_reply_names_a_comment_of_the_same_paper_and_the_paper_exists(store: Store) -> None:
    _, ann, _ = _people(store)
    other = store.comments.add(ann, "2601.00002", "On paper 2.")
    with pytest.raises(InputError, match=rf"parent_id {other.id}\) is on another paper"):
        store.comments.add(ann, "2601.00001", "Reply.", parent_id=other.id)
    with pytest.raises(InputError, match=r"\(parent_id\) does not exist"):
        store.comments.add(ann, "2601.00001", "Reply.", parent_id=4242)
    with pytest.raises(InputError, match="Unknown paper id: 2601.09999"):
        store.comments.add(ann, "2601.09999", "On nothing.")


def test_hidden_comments_show_to_admins_and_as_placeholders_only_above_replies(store: Store) -> None:
    admin, ann, ben = _people(store)
    spam = store.comments.add(ben, "2601.00001", "Buy now!")
    answered = store.comments.add(ben, "2601.00001", "Rude but answered.")
    reply = store.comments.add(ann, "2601.00001", "Please be kind.", parent_id=answered.id)
    store.comments.delete(store.comments.add(ann, "2601.00001", "Withdrawn.").id, ann)  # shown to nobody
    _set(store, comments, comments.c.id.in_([spam.id, answered.id]), hidden_at=dt.datetime.now(dt.UTC),
         hidden_by=admin)
    assert _thread(store, "2601.00001") == [(0, answered.id, ""), (1, reply.id, "Please be kind.")]
    placeholder = reading_order(store.comments.thread("2601.00001"))[0][1]
    assert placeholder.hidden and placeholder.author_handle is None and placeholder.user_id is None
    assert _thread(store, "2601.00001", admin=True) == [
        (0, spam.id, "Buy now!"), (0, answered.id, "Rude but answered."), (1, reply.id, "Please be kind.")]
    assert store.comments.get(spam.id) is None and store.comments.get(spam.id, admin=True) is not None
    with pytest.raises(NotPermitted, match="hidden by a moderator"):
        store.comments.edit(spam.id, ben, "Edited spam.")
    # A paper an admin hid has no discussion for anyone else, and takes no comments from them.
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(hidden_papers.insert().values(paper_id="2601.00001", hidden_by=admin, reason="test",
                                                   hidden_at=dt.datetime.now(dt.UTC)))
    assert _thread(store, "2601.00001") == [] and store.comments.get(reply.id) is None
    assert len(_thread(store, "2601.00001", admin=True)) == 3
    with pytest.raises(InputError, match="Unknown paper id"):
        store.comments.add(ann, "2601.00001", "Still here?")


def test_a_blocked_account_cannot_post_or_edit_but_may_delete(store: Store) -> None:
    _, ann, _ = _people(store)
    mine = store.comments.add(ann, "2601.00001", "Before the block.")
    _set(store, users, users.c.id == ann, blocked_at=dt.datetime.now(dt.UTC))
    with pytest.raises(NotPermitted, match="blocked from posting"):
        store.comments.add(ann, "2601.00001", "After the block.")
    with pytest.raises(NotPermitted, match="blocked from posting"):
        store.comments.edit(mine.id, ann, "Changed after the block.")
    assert store.comments.delete(mine.id, ann) is not None


def test_a_deleted_account_leaves_its_comments_without_an_author_and_others_replies_in_place(store: Store) -> None:
    _, ann, ben = _people(store)
    question = store.comments.add(ann, "2601.00001", "Ann asks.")
    answer = store.comments.add(ben, "2601.00001", "Ben answers.", parent_id=question.id)
    store.accounts.delete_user(ann)
    kept = store.comments.get(question.id)
    assert kept is not None and kept.user_id is None and kept.author_handle is None and kept.body == "Ann asks."
    assert _thread(store, "2601.00001") == [(0, question.id, "Ann asks."), (1, answer.id, "Ben answers.")]
    assert store.comments.get(answer.id).author_handle == "ben"  # type: ignore[union-attr]


def test_users_delete_says_how_many_comments_stay(tmp_path: Path) -> None:
    url = str(tmp_path / "site.db")
    with open_store(url) as store:
        _, ann, _ = _people(store)
        store.comments.add(ann, "2601.00001", "One.")
        store.comments.delete(store.comments.add(ann, "2601.00001", "Two, deleted.").id, ann)
    cli = CliRunner(env={"PAPERSCOPE_DATABASE_URL": url, "PAPERSCOPE_EMBEDDING_MODEL": "hashing"})
    done = cli.invoke(main, ["users", "delete", "ann@example.org", "--yes"])
    assert done.exit_code == 0, done.output
    assert "1 comment(s) stay in their discussions, shown as by [deleted account]" in done.output
    with open_store(url) as store:
        assert [c.author_handle for _, c in reading_order(store.comments.thread("2601.00001"))] == [None]


def test_comments_follow_a_paper_into_the_record_that_absorbs_it(store: Store) -> None:
    published = Paper(id="doi:10.1038/s41586-021-03819-2", title="Highly accurate protein structure prediction",
                      doi="10.1038/s41586-021-03819-2", sources=["crossref"])
    preprint = Paper(id="2107.00001", title="Highly accurate protein structure prediction with AlphaFold",
                     sources=["arxiv"])
    store.upsert_papers([published, preprint])
    ann = store.accounts.create_user("ann@example.org", password_hash=None).id
    on_published = store.comments.add(ann, published.id, "On the published version.")
    reply = store.comments.add(ann, published.id, "A reply.", parent_id=on_published.id)
    on_preprint = store.comments.add(ann, preprint.id, "On the preprint.")
    store.upsert_papers([dataclasses.replace(preprint, doi=published.doi)])
    assert [p.id for p in store.iter_papers()] == ["2107.00001"]
    assert _thread(store, "2107.00001") == [(0, on_published.id, "On the published version."),
                                            (1, reply.id, "A reply."), (0, on_preprint.id, "On the preprint.")]


def test_existing_handles_are_found_in_any_case(store: Store) -> None:
    _people(store)
    assert store.comments.existing_handles(["Ann", "BEN", "carol"]) == {"ann", "ben"}
    assert store.comments.existing_handles([]) == set()


# Rendering ---------------------------------------------------------------------------------------------------

def test_a_comment_keeps_markdown_and_math_and_loses_scripts_handlers_and_forged_marks() -> None:
    html = str(render_comment(HOSTILE, {"ann"}))
    assert "<strong>this</strong>" in html and "<math" in html and "<b>bold</b>" in html
    for gone in ("<script", "alert(1)", "onerror", "onclick", "onmouseover", 'href="javascript', "<iframe", "<img"):
        assert gone not in html, gone
    assert "[md](javascript:alert(5))" in html  # a link Markdown refuses stays text
    # The raw link's class went with the sanitiser and its text is inside a link: it is not made a paper link;
    # a raw "mention" span of nobody known stays plain text.
    assert 'class="paper-ref"' not in html and 'class="mention"' not in html


def test_paper_ids_become_links_outside_code_links_and_math() -> None:
    html = str(render_comment(
        "See 2503.11731v2, arXiv:hep-th/9901001 and (doi:10.1038/nature12373). Also pmid:34265844 and "
        "openalex:W2741809807. Not `2503.11731`, not [this](https://arxiv.org/abs/2503.11731), not $2503.11731$, "
        "not 3.14159 or 1234.5678 or https://example.org/2503.11731.", set()))
    links = [(m.group(1), m.group(2)) for m in
             re.finditer(r'<a class="paper-ref" href="([^"]+)">([^<]+)</a>', html)]
    assert links == [("/papers/2503.11731", "2503.11731v2"), ("/papers/hep-th/9901001", "arXiv:hep-th/9901001"),
                     ("/papers/doi:10.1038/nature12373", "doi:10.1038/nature12373"),
                     ("/papers/pmid:34265844", "pmid:34265844"),
                     ("/papers/openalex:W2741809807", "openalex:W2741809807")]
    assert "<code>2503.11731</code>" in html


def test_mentions_of_existing_users_are_marked_and_others_left_as_text() -> None:
    html = str(render_comment("Thanks @Ann and @carol; mail ann@example.org; `@ann` in code.", {"ann", "ben"}))
    assert html.count('class="mention"') == 1 and '<span class="mention">@Ann</span>' in html
    assert "@carol" in html and "ann@example.org" in html and "<code>@ann</code>" in html
    escaped = str(render_comment("@ann <b>&amp;</b> 1 < 2 & 3 > 2", {"ann"}))
    assert "1 &lt; 2 &amp; 3 &gt; 2" in escaped
