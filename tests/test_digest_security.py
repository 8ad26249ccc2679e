"""Digests, the unsubscribe page and the private feed against hostile text and forged links (issue 16, points
1 to 3): real SMTP (aiosmtpd on loopback), the real app through TestClient, real XML and HTML parsers."""

from __future__ import annotations

import ast
import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import paperscope
from paperscope.cli import main
from paperscope.config import Settings
from paperscope.digest import send_digests
from paperscope.digest.compose import digest_paper, templates
from paperscope.digest.tokens import unsubscribe_token
from paperscope.errors import InputError
from paperscope.ingest.pipeline import Ingester
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.store.schema import users
from paperscope.text import excerpt, plain_text
from paperscope.web.app import create_app
from paperscope.web.render import environment
from tests.conftest import FIXTURES
from tests.test_digest_support import Inbox, smtp_server

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

BASE_URL = "https://papers.example.org"
SECRET_KEY = "digest-security-test-secret-of-at-least-32-characters"
# A valid address whose characters mean something in HTML.
ADA = "o'neil&ada@example.org"
LIBRARY_ID, HOSTILE_ID = "2601.09001", "2601.09002"
LIBRARY_TITLE = '<b onmouseover="alert(2)">Local graph clustering</b> with noisy seeds'
HOSTILE_TITLE = "Graph diffusion <img src=x onerror=alert(1)> & local clustering ]]>"
HOSTILE_AUTHORS = ["<script>alert('author')</script>", "Ada & Bob"]
# An escape character, as text copied from a terminal or a PDF can hold: XML 1.0 cannot carry it.
HOSTILE_ABSTRACT = ("Local clustering of graph nodes & <iframe src=javascript:alert(4)> ]]> with personalised "
                    "PageRank\x1b diffusion from noisy seed labels.")
QUERY = "<svg onload=alert(3)> graph clustering"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


def settings_for(tmp_path: Path, port: int = 25, **changes: object) -> Settings:
    values: dict[str, object] = dict(database_url=str(tmp_path / "site.db"), embedding_model="hashing",
                                     smtp_host="127.0.0.1", smtp_port=port, base_url=BASE_URL,
                                     secret_key=SECRET_KEY, mail_from="digest@papers.example.org",
                                     smtp_backoff_seconds=0.01, smtp_timeout_seconds=10, background_jobs=False)
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def hostile_site(store: Store, settings: Settings) -> int:
    """The digest fixture papers, one saved and one trending paper with markup in every field, and Ada, who saved
    the first and follows a search with markup in it; returns Ada's id."""
    Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
    store.upsert_papers([
        Paper(id=LIBRARY_ID, title=LIBRARY_TITLE, abstract="Local graph clustering from noisy seed labels.",
              authors=["Grace Hopper"]),
        Paper(id=HOSTILE_ID, title=HOSTILE_TITLE, abstract=HOSTILE_ABSTRACT, authors=HOSTILE_AUTHORS),
    ])
    ada = store.accounts.create_user(ADA)
    store.accounts.set_library_state(ada.id, [LIBRARY_ID], "saved")
    store.digests.follow(ada.id, "query", QUERY)
    store.digests.subscribe(ada.id, kind="both")
    store.accounts.vote(store.accounts.create_user("bob@example.org").id, HOSTILE_ID)  # trending for Ada
    return ada.id


class Elements(HTMLParser):
    """The start tags and the text of an HTML document, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def joined_text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.text))


def assert_inert(html: str) -> Elements:
    """No element or attribute that hostile text brought in: only the page's own tags, no event handlers."""
    parsed = Elements(html)
    names = {tag for tag, _ in parsed.tags}
    assert not names & {"script", "img", "svg", "iframe", "b"}, names
    assert not [attrs for _, attrs in parsed.tags if any(name.startswith("on") for name in attrs)]
    return parsed


def test_the_html_part_of_a_digest_escapes_titles_authors_and_reasons(tmp_path: Path,
                                                                         smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = settings_for(tmp_path, port)
    with open_store(settings.database_url) as store:
        hostile_site(store, settings)
        report = send_digests(store, settings)
    assert [d.recipient for d in report.composed] == [ADA]
    [message] = inbox.to(ADA)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    shown = assert_inert(html).joined_text()
    # The hostile text is there, as text: the trending paper's title and authors, the reasons quoting the saved
    # paper's title and the followed search.
    assert "Graph diffusion <img src=x onerror=alert(1)> & local clustering ]]>" in shown
    assert "<script>alert('author')</script>, Ada & Bob" in shown
    reason = ('Matches your saved search “<svg onload=alert(3)> graph clustering”; close to “<b onmouseover="alert(2)">'
              'Local graph clustering</b> with noisy seeds” in your library')
    assert reason in shown
    assert "&lt;script&gt;alert(&#39;author&#39;)&lt;/script&gt;" in html
    # The plain-text part is not HTML: it carries the same text unescaped.
    assert "<script>alert('author')</script>, Ada & Bob" in text and "&lt;" not in text and "&amp;" not in text
    assert reason in text
    assert "\x1b" not in html + text and "PageRank diffusion" in text  # no escape sequence for a terminal
    assert not report.warnings  # a real key: the message has its unsubscribe link


def test_the_unsubscribe_page_escapes_the_address_and_posts_to_a_fixed_path(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with open_store(settings.database_url) as store:
        ada = store.accounts.create_user(ADA)
        store.digests.subscribe(ada.id)
        # An address stored before addresses were checked, as a database may still hold one.
        legacy = store.accounts.create_user("legacy@example.org")
        with store.accounts.engine.begin() as conn:
            conn.execute(users.update().where(users.c.id == legacy.id)
                         .values(email="<svg/onload=alert(1)>@example.org"))
        store.digests.subscribe(legacy.id)
        client = TestClient(create_app(settings, store=store), base_url="https://testserver")

        token = unsubscribe_token(SECRET_KEY, ada.id, ADA)
        page = client.get("/unsubscribe", params={"token": token, "x": '"><script>alert(5)</script>'})
        assert page.status_code == 200
        parsed = assert_inert(page.text)
        assert "o&#39;neil&amp;ada@example.org" in page.text and ADA in parsed.joined_text()
        [form] = [attrs for tag, attrs in parsed.tags if tag == "form"]
        assert form["action"] == f"/unsubscribe?token={token}"  # never the request's own URL

        legacy_token = unsubscribe_token(SECRET_KEY, legacy.id, "<svg/onload=alert(1)>@example.org")
        page = client.get("/unsubscribe", params={"token": legacy_token})
        assert page.status_code == 200 and "&lt;svg/onload=alert(1)&gt;@example.org" in page.text
        assert_inert(page.text)
        done = client.post("/unsubscribe", params={"token": legacy_token})
        assert done.status_code == 200 and "&lt;svg/onload=alert(1)&gt;@example.org" in done.text
        assert_inert(done.text)
        assert not store.digests.get_subscription(legacy.id).active  # type: ignore[union-attr]


def test_the_private_feed_is_well_formed_xml_with_the_text_intact(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with open_store(settings.database_url) as store:
        ada_id = hostile_site(store, settings)
        from paperscope.index.search import SearchEngine
        from paperscope.indexing import index_papers

        index_papers(SearchEngine(store, settings))
        token = store.digests.feed_token(ada_id)
        client = TestClient(create_app(settings, store=store), base_url="https://testserver")
        response = client.get(f"/feeds/users/{token}.xml")
        assert response.status_code == 200, response.text[:300]
        channel = ET.fromstring(response.content).find("channel")  # a real XML parser: well-formed or it raises
        assert channel is not None
        assert channel.findtext("title") == f"paperscope: papers for {ADA}"
        items = {item.findtext("link", "").rsplit("/", 1)[1]: item for item in channel.findall("item")}
        assert HOSTILE_ID in items, list(items)
        item = items[HOSTILE_ID]
        assert item.findtext("title") == plain_text(HOSTILE_TITLE) == HOSTILE_TITLE
        description = item.findtext("description", "")
        assert description.startswith("<script>alert('author')</script>, Ada & Bob. ")
        assert excerpt(HOSTILE_ABSTRACT).replace("\x1b", "") in description  # all but the escape character
        assert "& <iframe src=javascript:alert(4)> ]]> with personalised PageRank diffusion" in description
        # The public feeds share the builder: the same paper in a search feed, Atom and RSS.
        for fmt in ("atom", "rss"):
            found = client.get("/feeds/search.xml", params={"q": "graph diffusion local clustering", "format": fmt})
            assert found.status_code == 200 and HOSTILE_ID in found.text
            ET.fromstring(found.content)


def test_every_template_of_the_package_escapes_html(tmp_path: Path) -> None:
    """Each Jinja2 environment of the package is listed here, each template file belongs to one of them, and
    every HTML or XML template is autoescaped (only the plain-text e-mail parts are not)."""
    package = Path(paperscope.__file__).parent
    makers = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in {"Environment", "SandboxedEnvironment", "NativeEnvironment", "Jinja2Templates",
                            "Template"}:
                    makers.add(source.relative_to(package).as_posix())
    assert makers == {"web/render.py", "digest/compose.py"}, (
        f"Jinja2 templates are made in {sorted(makers)}: check their autoescaping here")
    environments = {"web/templates": environment(), "digest/templates": templates()}
    files = {f"{folder.relative_to(package).as_posix()}:{path.relative_to(folder).as_posix()}"
             for folder in package.rglob("templates") if folder.is_dir()
             for path in folder.rglob("*") if path.is_file()}
    listed = {f"{folder}:{name}" for folder, env in environments.items() for name in env.list_templates()}
    assert files == listed, "a template folder outside the environments checked here"
    for folder, env in environments.items():
        for name in env.list_templates():
            escapes = env.autoescape(name) if callable(env.autoescape) else env.autoescape
            assert escapes is (not name.endswith(".txt.j2")), f"{folder}/{name}"
        made = env.from_string("{{ text }}").render(text="<b>&</b>")  # templates made from strings escape too
        assert made == "&lt;b&gt;&amp;&lt;/b&gt;"
    digest_html = templates().get_template("unsubscribe.html.j2")
    assert "&lt;x&gt;" in digest_html.render(title="t", state="done", email="<x>", action="", link_days=1)
    assert isinstance(templates().undefined(), jinja2.StrictUndefined)


# E-mail addresses --------------------------------------------------------------------------------------------


def test_addresses_are_checked_and_normalised_in_the_store(store: Store) -> None:
    for bad in ("<svg/onload=alert(1)>@example.org", "ada", "ada@localhost", "ada@example..org", "a b@example.org",
                "Ada <ada@example.org>", "ada@exa mple.org", "x" * 300 + "@example.org"):
        with pytest.raises(InputError, match="E-mail address: .* is not an e-mail address"):
            store.accounts.create_user(bad)
    assert store.accounts.list_users() == []
    assert store.accounts.create_user(" Ada.Lovelace@Example.ORG ").email == "ada.lovelace@example.org"
    assert store.accounts.create_user("grace@XN--BCHER-KVA.example").email == "grace@bücher.example"
    assert store.accounts.get_user_by_email("Grace@bücher.EXAMPLE") is not None
    assert store.accounts.create_user(ADA).email == ADA
    with pytest.raises(InputError, match="already exists"):
        store.accounts.create_user("ADA.LOVELACE@example.org")


def test_sign_up_and_the_command_line_refuse_what_is_not_an_address(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with open_store(settings.database_url) as store:
        client = TestClient(create_app(settings, store=store), base_url="https://testserver")
        form = client.get("/signup").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf
        refused = client.post("/signup", data={"email": "<svg/onload=alert(1)>@example.org",
                                               "password": "a long and unusual passphrase 7", "csrf_token": csrf[1]},
                              follow_redirects=False)
        assert refused.status_code == 400 and "E-mail address:" in refused.text
        assert "&lt;svg/onload=alert(1)&gt;" in refused.text and "<svg" not in refused.text
        assert store.accounts.list_users() == []
    result = CliRunner(env={"PAPERSCOPE_DATABASE_URL": settings.database_url,
                            "PAPERSCOPE_EMBEDDING_MODEL": "hashing"}).invoke(
        main, ["users", "add", "<svg/onload=alert(1)>@example.org"])
    assert result.exit_code == 1 and "E-mail address: '<svg/onload=alert(1)>@example.org' is not" in result.output
    with open_store(settings.database_url) as store:
        assert store.accounts.list_users() == []


# Unsubscribe links --------------------------------------------------------------------------------------------


def test_in_development_links_are_signed_with_the_servers_own_key(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    """With the placeholder key, a link signed with it is refused, and the digests the server's own jobs send
    carry links the server accepts."""
    inbox, port = smtp
    settings = settings_for(tmp_path, port, secret_key="change-me", background_jobs=True)
    with open_store(settings.database_url) as store:
        ada_id = hostile_site(store, settings)
        app = create_app(settings, store=store)
        client = TestClient(app)  # no lifespan: the jobs' thread stays off, the test runs their digest step
        forged = unsubscribe_token("change-me", ada_id, ADA)
        assert client.get("/unsubscribe", params={"token": forged}).status_code == 400
        assert client.post("/unsubscribe", params={"token": forged}).status_code == 400
        assert store.digests.get_subscription(ada_id).active  # type: ignore[union-attr]

        assert app.state.services.jobs.send_due_digests() == 1
        [message] = inbox.to(ADA)
        link = message["List-Unsubscribe"].strip("<>")
        assert link.startswith(f"{BASE_URL}/unsubscribe?token=") and "change-me" not in link
        confirm = client.get(link.removeprefix(BASE_URL))
        assert confirm.status_code == 200 and "Stop the paperscope digests" in confirm.text
        done = client.post(link.removeprefix(BASE_URL), content=b"List-Unsubscribe=One-Click")
        assert done.status_code == 200 and not store.digests.get_subscription(ada_id).active  # type: ignore[union-attr]


def test_an_expired_link_says_how_to_stop_the_digests_from_the_account_page(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, unsubscribe_link_days=30)
    with open_store(settings.database_url) as store:
        ada = store.accounts.create_user("ada@example.org")
        store.digests.subscribe(ada.id)
        client = TestClient(create_app(settings, store=store), base_url="https://testserver")
        old = unsubscribe_token(SECRET_KEY, ada.id, ada.email,
                                issued_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
        for answer in (client.get("/unsubscribe", params={"token": old}),
                       client.post("/unsubscribe", params={"token": old}, content=b"List-Unsubscribe=One-Click")):
            assert answer.status_code == 410 and "has expired" in answer.text and "30 days" in answer.text
            assert 'href="/me#digests"' in answer.text and "Stop digests" in answer.text
        assert store.digests.get_subscription(ada.id).active  # type: ignore[union-attr]
        recent = unsubscribe_token(SECRET_KEY, ada.id, ada.email,
                                   issued_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=29))
        assert client.get("/unsubscribe", params={"token": recent}).status_code == 200

        # What the page points to: the account page's button.
        from paperscope.auth import hash_password

        store.accounts.update_user(ada.id, password_hash=hash_password("a long and unusual passphrase 7"))
        form = client.get("/signin").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf
        client.post("/signin", data={"email": "ada@example.org", "password": "a long and unusual passphrase 7",
                                     "csrf_token": csrf[1]})
        me = client.get("/me").text
        assert 'id="digests"' in me and "A daily digest goes to ada@example.org" in me
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', me)
        assert csrf
        stopped = client.post("/me/digests/stop", data={"csrf_token": csrf[1]}, follow_redirects=False)
        assert stopped.status_code == 303 and stopped.headers["location"] == "/me#digests"
        assert not store.digests.get_subscription(ada.id).active  # type: ignore[union-attr]
        assert store.digests.unsubscribe_log(ada.id)[-1][0] == "web"
        assert "No e-mail digests go to ada@example.org" in client.get("/me").text
        assert client.post("/me/digests/stop", data={}).status_code == 403  # no CSRF token, no change


def test_digests_sent_with_a_placeholder_key_carry_no_link_and_say_so(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = settings_for(tmp_path, port)
    with open_store(settings.database_url) as store:
        hostile_site(store, settings)
    env = {"PAPERSCOPE_DATABASE_URL": settings.database_url, "PAPERSCOPE_EMBEDDING_MODEL": "hashing",
           "PAPERSCOPE_SMTP_HOST": "127.0.0.1", "PAPERSCOPE_SMTP_PORT": str(port), "PAPERSCOPE_BASE_URL": BASE_URL}
    result = CliRunner(env=env).invoke(main, ["digest", "send"])
    assert result.exit_code == 0, result.output
    assert "warning: PAPERSCOPE_SECRET_KEY is a placeholder, so the digests carry no unsubscribe link" in result.output
    [message] = inbox.to(ADA)
    assert isinstance(message, EmailMessage)
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "/unsubscribe" not in html + text
    assert f'href="{BASE_URL}/me#digests"' in html and f"on your account page: {BASE_URL}/me#digests" in text


def test_links_from_paper_data_are_only_http_links(tmp_path: Path) -> None:
    """A source's record may name any URL as a paper's abstract, PDF, code or project page: only http(s) ones
    become links, on the pages, in the e-mail and in the feeds."""
    settings = settings_for(tmp_path)
    hostile = Paper(id="2601.09003", title="Links from a record", abstract="Nothing to see.",
                    abs_url="javascript:alert(1)", pdf_url=" JavaScript:alert(document.cookie)",
                    github_repo="javascript:alert(3)", project_page="data:text/html,<script>alert(4)</script>")
    fine = Paper(id="2601.09004", title="Ordinary links", abstract="Nothing to see.",
                 abs_url="https://example.org/abs", pdf_url="https://example.org/a.pdf",
                 github_repo="https://github.com/ada/code", project_page="http://example.org/project")
    with open_store(settings.database_url) as store:
        store.upsert_papers([hostile, fine])
        client = TestClient(create_app(settings, store=store), base_url="https://testserver")
        page = client.get(f"/papers/{hostile.id}")
        hrefs = [attrs["href"] or "" for _, attrs in Elements(page.text).tags if "href" in attrs]
        assert page.status_code == 200 and not [h for h in hrefs if not h.startswith(("/", "https://", "http://", "#"))]
        assert not re.search(r"(href|src)=[\"']?\s*(javascript|data):", page.text, re.IGNORECASE)
        ordinary = Elements(client.get(f"/papers/{fine.id}").text).tags
        assert {attrs.get("href") for _, attrs in ordinary} >= {"https://example.org/abs", "https://example.org/a.pdf",
                                                                "https://github.com/ada/code",
                                                                "http://example.org/project"}
        for fmt in ("atom", "rss"):
            feed = client.get("/feeds/search.xml", params={"q": "links from a record", "format": fmt})
            assert feed.status_code == 200 and hostile.id in feed.text and "javascript:" not in feed.text.lower()
    shown = digest_paper(hostile, "Close to x.", BASE_URL)
    assert (shown.abs_url, shown.pdf_url) == ("https://arxiv.org/abs/2601.09003", "https://arxiv.org/pdf/2601.09003")
    assert (digest_paper(fine, "", BASE_URL).pdf_url) == "https://example.org/a.pdf"
