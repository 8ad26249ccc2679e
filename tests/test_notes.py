"""Private notes and reading states: the store (SQLite and PostgreSQL), the Markdown they are shown as, the pages
(CSRF, one author per note, limits, sanitising), the JSON API and the BibTeX `note` of the exporting user."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from paperscope.config import Settings
from paperscope.errors import InputError
from paperscope.limits import NOTE, TAG
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.web.markdown import render_markdown
from tests.web_support import HOSTILE_ID, MATH_ID, TEX_ID, client_fixture, csrf, sign_up, site_fixture  # noqa: F401

PAPERS = [Paper(id=f"2601.0000{i}", title=f"Paper {i}", abstract="An abstract.", authors=["A. Author"],
                categories=["cs.LG"]) for i in range(1, 4)]
HOSTILE_NOTE = ('Read **this** with $x^2$.\n\n<script>alert(1)</script><img src=x onerror="alert(2)">\n\n'
                '<a href="javascript:alert(3)" onclick="alert(4)">click</a> [md](javascript:alert(5)) '
                '<iframe src="https://evil.example"></iframe><b onmouseover="alert(6)">bold</b> <sub>2</sub>')


# The store ---------------------------------------------------------------------------------------------------

def _two_users(store: Store) -> tuple[int, int]:
    store.upsert_papers(PAPERS)
    return (store.accounts.create_user("ann@example.org", password_hash=None).id,
            store.accounts.create_user("ben@example.org", password_hash=None).id)


def test_a_note_is_written_replaced_and_deleted_by_its_author_only(store: Store) -> None:
    ann, ben = _two_users(store)
    notes = store.notes
    first = notes.set_note(ann, "2601.00001", "Good *baseline*; see $O(n)$.")
    assert notes.get_note(ann, "2601.00001") == first and notes.get_note(ben, "2601.00001") is None
    notes.set_note(ben, "2601.00001", "Ben's own view.")
    again = notes.set_note(ann, "2601.00001", "Replaced.")
    assert again.body == "Replaced." and again.created_at == first.created_at and again.updated_at >= first.updated_at
    assert notes.get_note(ben, "2601.00001").body == "Ben's own view."  # type: ignore[union-attr]
    assert notes.notes_of(ann, [p.id for p in PAPERS]) == {"2601.00001": "Replaced."}
    assert notes.delete_note(ann, "2601.00001") and not notes.delete_note(ann, "2601.00001")
    assert notes.get_note(ben, "2601.00001") is not None  # ann's delete touched ann's note only


@pytest.mark.parametrize(("body", "message"), [
    ("x" * (NOTE.max_length + 1), "at most 20,000 characters"), ("  \n ", "must not be empty"),
    ("bell \x07", "control characters")])
def test_a_note_beyond_its_limit_is_refused_naming_the_field(store: Store, body: str, message: str) -> None:
    ann, _ = _two_users(store)
    with pytest.raises(InputError, match=rf"The note \(body\) .*{message}"):
        store.notes.set_note(ann, "2601.00001", body)
    with pytest.raises(InputError, match="Unknown paper id"):
        store.notes.set_note(ann, "2601.09999", "A note on nothing.")
    assert store.notes.get_note(ann, "2601.00001") is None


def test_searching_notes_reads_only_your_own_and_takes_wildcards_as_text(store: Store) -> None:
    ann, ben = _two_users(store)
    store.notes.set_note(ann, "2601.00001", "Contrastive LOSS is 100% of the gain")
    store.notes.set_note(ann, "2601.00002", "another idea: a loss_fn rewrite")
    store.notes.set_note(ben, "2601.00003", "ben's loss notes")
    assert [n.paper_id for n in store.notes.search_notes(ann, "loss")] == ["2601.00002", "2601.00001"]
    assert [n.paper_id for n in store.notes.search_notes(ann, "contrastive gain")] == ["2601.00001"]
    assert [n.paper_id for n in store.notes.search_notes(ann, "100%")] == ["2601.00001"]
    assert store.notes.search_notes(ann, "1_0") == [] and store.notes.search_notes(ann, "%") != []
    assert [n.paper_id for n in store.notes.search_notes(ann, "loss_")] == ["2601.00002"]
    assert [n.paper_id for n in store.notes.search_notes(ben, "loss")] == ["2601.00003"]


def test_the_reading_state_saves_the_paper_and_filters_the_library(store: Store) -> None:
    ann, ben = _two_users(store)
    accounts, notes = store.accounts, store.notes
    accounts.set_library_state(ann, ["2601.00001"], "saved")
    accounts.set_library_state(ann, ["2601.00002"], "hidden")
    assert notes.reading_states(ann) == {"2601.00001": "to-read"}  # saved before: to read
    assert notes.set_reading_state(ann, "2601.00002", "reading") == "reading"  # a hidden paper is saved again
    notes.set_reading_state(ann, "2601.00003", "read")
    assert accounts.library_ids(ann) == ["2601.00003", "2601.00002", "2601.00001"]
    assert notes.library_by_reading(ann, "reading") == ["2601.00002"]
    assert notes.library_by_reading(ann, "read") == ["2601.00003"] and notes.library_by_reading(ben, "read") == []
    with pytest.raises(InputError, match=r"reading state \(reading\) must be one of to-read, reading, read"):
        notes.set_reading_state(ann, "2601.00001", "skimmed")


def test_deleting_a_user_deletes_their_notes(store: Store) -> None:
    ann, ben = _two_users(store)
    store.notes.set_note(ann, "2601.00001", "ann's")
    store.notes.set_note(ben, "2601.00001", "ben's")
    assert store.accounts.user_data(ann).counts["private notes"] == 1
    store.accounts.delete_user(ann)
    assert store.notes.search_notes(ann, "") == [] and store.accounts.user_data(ann).counts["private notes"] == 0
    assert store.notes.get_note(ben, "2601.00001") is not None


# Markdown ----------------------------------------------------------------------------------------------------

def test_markdown_keeps_formatting_and_math_and_removes_script_handlers_and_raw_html() -> None:
    html = str(render_markdown(HOSTILE_NOTE + "\n\n`$not math$` costs $5 and $6\n\n$$\\sum_i x_i$$"))
    assert "<strong>this</strong>" in html and "<math" in html and 'display="block"' in html
    assert "<code>$not math$</code>" in html and "costs $5 and $6" in html
    assert "<sub>2</sub>" in html and "<b>bold</b>" in html
    for gone in ("<script", "alert(1)", "<img", "onerror", "onclick", "onmouseover", "href=\"javascript", "<iframe"):
        assert gone not in html, gone
    assert "[md](javascript:alert(5))" in html  # a Markdown link to javascript: stays text, never a link
    assert re.search(r'<a rel="nofollow noopener noreferrer">click</a>', html)


def test_markdown_math_markers_cannot_be_forged() -> None:
    # The placeholder a formula leaves for the sanitiser is random per call: text that looks like one stays text.
    html = str(render_markdown("a $x$ then mathx0x and math0000x0x"))
    assert html.count("<math") == 1 and "mathx0x and math0000x0x" in html


# Pages -------------------------------------------------------------------------------------------------------

def _save_note(client: TestClient, paper_id: str, body: str) -> None:
    response = client.post(f"/papers/{paper_id}/note", data={"body": body, "csrf_token": csrf(client, "/me")},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.mark.search_backend  # the web tests' site, indexed
def test_a_note_is_shown_to_its_author_only_and_needs_the_csrf_token(client: TestClient) -> None:
    sign_up(client, "notes-author@example.org")
    refused = client.post(f"/papers/{MATH_ID}/note", data={"body": "no token"})
    assert refused.status_code == 403
    _save_note(client, MATH_ID, "Secret *insight* about $\\sqrt{n}$")
    page = client.get(f"/papers/{MATH_ID}").text
    assert "<em>insight</em>" in page and 'id="note-form"' in page and "Secret" in page
    assert page.count("<math") >= 2  # the abstract's formula and the note's
    assert "insight" not in client.get(f"/api/papers/{MATH_ID}").text

    other = TestClient(client.app)
    assert "Secret" not in other.get(f"/papers/{MATH_ID}").text  # anonymous
    sign_up(other, "notes-other@example.org")
    page = other.get(f"/papers/{MATH_ID}").text
    assert "Secret" not in page and "insight" not in page
    # The other user's form writes the other user's note: the author's stays as it was.
    _save_note(other, MATH_ID, "Mine, not theirs")
    other.post(f"/papers/{MATH_ID}/note/delete", data={"csrf_token": csrf(other, "/me")})
    assert "Secret" in client.get(f"/papers/{MATH_ID}").text
    assert "Secret" not in other.get("/me?q=secret").text
    assert other.post(f"/papers/{MATH_ID}/note/delete", data={}).status_code == 403

    client.post(f"/papers/{MATH_ID}/note/delete", data={"csrf_token": csrf(client, "/me")})
    assert "Secret" not in client.get(f"/papers/{MATH_ID}").text


@pytest.mark.search_backend  # the web tests' site, indexed
def test_a_note_page_is_sanitised_and_bounded(client: TestClient) -> None:
    sign_up(client, "notes-hostile@example.org")
    _save_note(client, TEX_ID, HOSTILE_NOTE)
    page = client.get(f"/papers/{TEX_ID}").text
    shown = page.split('<div class="note-body">', 1)[1].split("</div>", 1)[0]
    assert "<strong>this</strong>" in shown
    for gone in ("<script", "<img", "onerror", "onclick", "onmouseover", "href=\"javascript", "<iframe"):
        assert gone not in shown, gone
    too_long = client.post(f"/papers/{TEX_ID}/note", data={"body": "x" * (NOTE.max_length + 1),
                                                           "csrf_token": csrf(client, "/me")})
    assert too_long.status_code == 422 and "The note (body) must be at most 20,000 characters" in too_long.text
    assert f'maxlength="{NOTE.max_length}"' in page


@pytest.mark.search_backend  # the web tests' site, indexed
def test_the_library_page_finds_notes_and_filters_by_reading_state(client: TestClient) -> None:
    sign_up(client, "notes-library@example.org")
    _save_note(client, MATH_ID, "Compare with the spectral *bound* later")
    found = client.get("/me?q=SPECTRAL").text
    assert "Compare with the spectral <em>bound</em> later" in found and f'href="/papers/{MATH_ID}#note"' in found
    assert "None of your notes has these words" in client.get("/me?q=transformer").text
    for paper_id, state in [(MATH_ID, "reading"), (TEX_ID, "read")]:
        response = client.post(f"/papers/{paper_id}/reading", data={"state": state, "next": "/me",
                                                                  "csrf_token": csrf(client, "/me")},
                               follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/me"
    reading = client.get("/me?reading=reading").text.split('id="library"', 1)[1].split('id="notes"', 1)[0]
    assert f'data-paper-id="{MATH_ID}"' in reading and f'data-paper-id="{TEX_ID}"' not in reading
    assert client.get("/me?reading=skimmed").status_code == 422
    bad = client.post(f"/papers/{MATH_ID}/reading", data={"state": "skimmed", "csrf_token": csrf(client, "/me")})
    assert bad.status_code == 400 and "to-read, reading, read" in bad.text
    assert client.post(f"/papers/{MATH_ID}/reading", data={"state": "read"}).status_code == 403


# The API -----------------------------------------------------------------------------------------------------

def _token_client(client: TestClient, email: str) -> dict[str, str]:
    from tests.web_support import api_token
    sign_up(client, email)
    return {"Authorization": f"Bearer {api_token(client)}"}


@pytest.mark.search_backend  # the web tests' site, indexed
def test_the_note_api_reads_writes_and_deletes_your_note_only(client: TestClient) -> None:
    ann = _token_client(client, "notes-api-ann@example.org")
    ben = _token_client(TestClient(client.app), "notes-api-ben@example.org")
    url = f"/api/papers/{HOSTILE_ID}/note"
    missing = client.get(url, headers=ann)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert TestClient(client.app).get(url).status_code == 401
    put = client.put(url, json={"body": HOSTILE_NOTE}, headers=ann)
    assert put.status_code == 200 and put.json()["body"] == HOSTILE_NOTE
    body_html = put.json()["body_html"]
    assert "<strong>this</strong>" in body_html and "<math" in body_html and "<script" not in body_html
    assert client.get(url, headers=ann).json()["body"] == HOSTILE_NOTE
    assert client.get(url, headers=ben).status_code == 404  # ben sees no note of ann's
    assert client.delete(url, headers=ben).status_code == 404
    assert [n["paper_id"] for n in client.get("/api/notes?q=bold", headers=ann).json()] == [HOSTILE_ID]
    assert client.get("/api/notes?q=bold", headers=ben).json() == []
    too_long = client.put(url, json={"body": "x" * (NOTE.max_length + 1)}, headers=ann)
    assert too_long.status_code == 422 and "The note (body)" in too_long.json()["error"]["message"]
    assert client.delete(url, headers=ann).status_code == 204 and client.get(url, headers=ann).status_code == 404


@pytest.mark.search_backend  # the web tests' site, indexed
def test_the_reading_state_api(client: TestClient) -> None:
    ann = _token_client(client, "notes-api-reading@example.org")
    put = client.put(f"/api/papers/{MATH_ID}/reading", json={"state": "reading"}, headers=ann)
    assert put.status_code == 200 and put.json() == {"paper_id": MATH_ID, "state": "reading"}
    assert client.put(f"/api/papers/{MATH_ID}/reading", json={"state": "done"}, headers=ann).status_code == 422
    assert client.get("/api/library", headers=ann).json() == [{"paper_id": MATH_ID, "state": "reading"}]
    assert client.get("/api/library?reading=read", headers=ann).json() == []


@pytest.mark.search_backend  # the web tests' site, indexed
def test_the_tags_api_tags_lists_and_untags_your_papers_only(client: TestClient) -> None:
    ann = _token_client(client, "notes-api-tags@example.org")
    ben = _token_client(TestClient(client.app), "notes-api-tags-ben@example.org")
    url = f"/api/papers/{MATH_ID}/tags"
    tagged = client.post(url, json={"tag": "<i>proofs</i>"}, headers=ann)
    assert tagged.status_code == 200 and tagged.json() == {"paper_id": MATH_ID, "tags": ["<i>proofs</i>"]}
    client.post(f"/api/papers/{TEX_ID}/tags", json={"tag": "<i>proofs</i>"}, headers=ann)
    assert client.get("/api/tags", headers=ann).json() == [{"tag": "<i>proofs</i>", "paper_ids": [MATH_ID, TEX_ID]}]
    assert MATH_ID in {r["paper_id"] for r in client.get("/api/library", headers=ann).json()}  # tagging saves
    assert client.get("/api/tags", headers=ben).json() == []
    assert client.delete(url, params={"tag": "<i>proofs</i>"}, headers=ben).status_code == 404  # not ben's tag
    assert client.post(url, json={"tag": "x" * (TAG.max_length + 1)}, headers=ann).status_code == 422
    assert client.post(url, json={"tag": ""}, headers=ann).status_code == 422
    assert TestClient(client.app).get("/api/tags").status_code == 401
    assert client.delete(url, params={"tag": "<i>proofs</i>"}, headers=ann).status_code == 204
    assert client.get("/api/tags", headers=ann).json() == [{"tag": "<i>proofs</i>", "paper_ids": [TEX_ID]}]
    assert MATH_ID in {r["paper_id"] for r in client.get("/api/library", headers=ann).json()}  # still saved
    assert client.delete(url, params={"tag": "<i>proofs</i>"}, headers=ann).status_code == 404


# BibTeX ------------------------------------------------------------------------------------------------------

@pytest.mark.search_backend  # the web tests' site, indexed
def test_bibtex_carries_the_exporting_users_notes_only(client: TestClient, site: Settings) -> None:
    sign_up(client, "notes-bib@example.org")
    _save_note(client, MATH_ID, "Use for the 100% bound in ch. 3")
    client.post(f"/papers/{MATH_ID}/reading", data={"state": "read", "csrf_token": csrf(client, "/me")})
    note_field = re.compile(r"note = \{Use for the 100\\% bound in ch\. 3\}")
    assert note_field.search(client.get(f"/papers/{MATH_ID}/bibtex").text)
    assert note_field.search(client.get("/me/library/bibtex").text)
    assert note_field.search(client.get("/me/library/bibtex?reading=read").text)
    assert MATH_ID not in client.get("/me/library/bibtex?reading=to-read").text
    with open_store(site.database_url) as store:
        owner = store.accounts.require_user("notes-bib@example.org")
        shared = store.accounts.create_collection(owner.id, "Shared with notes", public=True)
        store.accounts.add_to_collection(shared.id, [MATH_ID], owner_id=owner.id)
    assert note_field.search(client.get(f"/collections/{shared.id}/bibtex").text)  # the owner's own export
    anonymous = TestClient(client.app)
    assert "note =" not in anonymous.get(f"/papers/{MATH_ID}/bibtex").text
    public = anonymous.get(f"/collections/{shared.id}/bibtex").text
    assert MATH_ID in public and "note =" not in public and "100" not in public
    sign_up(anonymous, "notes-bib-reader@example.org")
    assert "note =" not in anonymous.get(f"/collections/{shared.id}/bibtex").text


@pytest.mark.search_backend
def test_notes_follow_a_paper_into_the_record_that_absorbs_it(store: Store) -> None:
    # Two records of one paper, each with a note of ann's, become one record: her notes become one note.
    import dataclasses
    published = Paper(id="doi:10.1038/s41586-021-03819-2", title="Highly accurate protein structure prediction",
                      doi="10.1038/s41586-021-03819-2", sources=["crossref"])
    preprint = Paper(id="2107.00001", title="Highly accurate protein structure prediction with AlphaFold",
                     sources=["arxiv"])
    store.upsert_papers([published, preprint])
    ann = store.accounts.create_user("ann@example.org", password_hash=None).id
    ben = store.accounts.create_user("ben@example.org", password_hash=None).id
    store.notes.set_note(ann, published.id, "Published version: see Fig. 2.")
    store.notes.set_note(ann, preprint.id, "Preprint: the ablation.")
    store.notes.set_note(ben, published.id, "Ben's only note.")
    store.upsert_papers([dataclasses.replace(preprint, doi=published.doi)])
    assert sorted(p.id for p in store.iter_papers()) == ["2107.00001"]
    merged = store.notes.get_note(ann, "2107.00001")
    assert merged is not None and "Published version: see Fig. 2." in merged.body and "the ablation" in merged.body
    assert store.notes.get_note(ben, "2107.00001").body == "Ben's only note."  # type: ignore[union-attr]
