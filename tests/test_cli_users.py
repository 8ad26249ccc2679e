"""The operator commands: users, library, recommend, subscribe, unsubscribe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperscope.auth import verify_password
from paperscope.cli import main
from paperscope.store import open_store
from tests.conftest import FIXTURES


def runner(tmp_path: Path) -> tuple[CliRunner, Path]:
    db = tmp_path / "cli.db"
    return CliRunner(env={"PAPERSCOPE_DATABASE_URL": str(db), "PAPERSCOPE_EMBEDDING_MODEL": "hashing"}), db


def test_users_add_with_a_password_from_stdin_and_clear_errors(tmp_path: Path) -> None:
    cli, db = runner(tmp_path)
    added = cli.invoke(main, ["users", "add", "Ada@Example.org", "--password-stdin", "--timezone", "Europe/Paris"],
                       input="correct horse battery\n")
    assert added.exit_code == 0 and "added user ada@example.org (id 1)" in added.output
    with open_store(str(db)) as store:
        assert verify_password(store.accounts.password_hash(1), "correct horse battery")
        assert store.accounts.get_user(1).timezone == "Europe/Paris"  # type: ignore[union-attr]
    again = cli.invoke(main, ["users", "add", "ada@example.org"])
    assert again.exit_code == 1 and "already exists" in again.output
    short = cli.invoke(main, ["users", "add", "bob@example.org", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    zone = cli.invoke(main, ["users", "add", "bob@example.org", "--timezone", "Mars/Olympus"])
    assert zone.exit_code == 2 and "not a known time zone" in zone.output
    listed = json.loads(cli.invoke(main, ["users", "list", "--json"]).output)
    assert [u["email"] for u in listed] == ["ada@example.org"] and listed[0]["subscription"] is None


@pytest.mark.search_backend
def test_library_recommend_and_subscribe(tmp_path: Path) -> None:
    cli, db = runner(tmp_path)
    assert cli.invoke(main, ["ingest", str(FIXTURES / "digest_papers.jsonl")]).exit_code == 0
    cli.invoke(main, ["users", "add", "ada@example.org"])
    not_indexed = cli.invoke(main, ["recommend", "ada@example.org"])
    assert not_indexed.exit_code == 1 and "run paperscope index" in not_indexed.output
    assert cli.invoke(main, ["index"]).exit_code == 0
    nothing = cli.invoke(main, ["recommend", "ada@example.org"])
    assert nothing.exit_code == 1 and "paperscope library add" in nothing.output

    saved = cli.invoke(main, ["library", "add", "ada@example.org", "2601.00012v2", "arXiv:2601.00013"])
    assert saved.exit_code == 0 and "saved 2 of 2 papers" in saved.output
    unknown = cli.invoke(main, ["library", "add", "ada@example.org", "2601.99999"])
    assert unknown.exit_code == 1 and "Unknown paper id(s): 2601.99999" in unknown.output
    no_user = cli.invoke(main, ["library", "add", "zed@example.org", "2601.00012"])
    assert no_user.exit_code == 1 and "paperscope users add zed@example.org" in no_user.output
    hidden = cli.invoke(main, ["library", "hide", "ada@example.org", "2601.00007", "2601.00013"])
    assert hidden.exit_code == 0 and "hidden 2 of 2" in hidden.output
    assert "2601.00012" in cli.invoke(main, ["library", "list", "ada@example.org"]).output

    result = cli.invoke(main, ["recommend", "ada@example.org", "--limit", "4", "--json"])
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.output)
    assert len(ranked) == 4 and all({"id", "score", "why"} <= set(r) for r in ranked)
    assert ranked[0]["id"] in {"2601.00014", "2601.00015", "2601.00016"}
    assert not {r["id"] for r in ranked} & {"2601.00012", "2601.00013", "2601.00007"}
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    human = cli.invoke(main, ["recommend", "ada@example.org", "--limit", "1"]).output
    assert human.startswith("  1. [") and "why: Close to" in human

    tagged = cli.invoke(main, ["library", "tag", "ada@example.org", "speech", "2601.00008", "2601.00009"])
    assert tagged.exit_code == 0 and "tagged 2 papers \u201cspeech\u201d" in tagged.output
    half = cli.invoke(main, ["library", "tag", "ada@example.org", "speech", "2601.00010", "2601.99999"])
    assert half.exit_code == 1 and "Unknown paper id(s): 2601.99999" in half.output
    by_tag = json.loads(cli.invoke(main, ["recommend", "ada@example.org", "--tag", "speech", "--json"]).output)
    assert {r["id"] for r in by_tag[:2]} == {"2601.00010", "2601.00011"}  # no tag reached 00010 above
    assert not {r["id"] for r in by_tag} & {"2601.00008", "2601.00009", "2601.00012", "2601.00013"}
    untagged = cli.invoke(main, ["library", "untag", "ada@example.org", "speech", "2601.00009", "2601.00010"])
    assert untagged.exit_code == 0 and "took the tag \u201cspeech\u201d off 1 of 2 papers" in untagged.output
    assert "2601.00009" in cli.invoke(main, ["library", "list", "ada@example.org"]).output  # still saved
    no_tag = cli.invoke(main, ["recommend", "ada@example.org", "--tag", "robots"])
    assert no_tag.exit_code == 1 and "no tag \u201crobots\u201d" in no_tag.output
    assert "its tags: \u201cspeech\u201d" in no_tag.output

    sub = cli.invoke(main, ["subscribe", "ada@example.org", "--every", "weekly", "--weekday", "friday",
                            "--hour", "9", "--query", "robot grasping", "--trending"])
    assert sub.exit_code == 0 and "both digest, weekly at 09:00 UTC on Fridays" in sub.output
    assert "query 'robot grasping'" in sub.output
    no_topic = cli.invoke(main, ["subscribe", "ada@example.org", "--topic", "42"])
    assert no_topic.exit_code == 2 and "there is no topic '42'" in no_topic.output
    listed = json.loads(cli.invoke(main, ["users", "list", "--json"]).output)
    assert listed[0]["subscription"] == {"kind": "both", "every": "weekly", "hour": 9, "active": True,
                                         "by_tag": False}
    assert "unsubscribed" in cli.invoke(main, ["unsubscribe", "ada@example.org"]).output
    assert "had no active subscription" in cli.invoke(main, ["unsubscribe", "ada@example.org"]).output
    with open_store(str(db)) as store:
        assert not store.digests.get_subscription(1).active  # type: ignore[union-attr]
        assert [source for source, _ in store.digests.unsubscribe_log(1)] == ["cli", "cli"]
