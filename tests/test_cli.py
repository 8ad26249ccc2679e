"""The command line as users run it: the installed `paperscope` script in a subprocess."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperscope.cli import main
from tests.conftest import shared_path

EXPECTED_CS_PAPERS = 17142


def run(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "paperscope", *args]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})},
                            timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def paper_count(db: Path) -> int:
    return int(json.loads(run("--db", str(db), "stats", "--json").stdout)["papers"])


def test_real_arxiv_listings_ingest_exactly_and_idempotently(tmp_path: Path) -> None:
    files = sorted(str(p) for p in shared_path("data", "arxiv", "cs").glob("*.jsonl"))
    db = tmp_path / "x.db"
    first = run("--db", str(db), "ingest", *files)
    assert first.stdout.startswith(f"added {EXPECTED_CS_PAPERS}, ")
    assert paper_count(db) == EXPECTED_CS_PAPERS
    second = run("--db", str(db), "ingest", "--json", *files)
    counts = json.loads(second.stdout)
    assert counts["added"] == 0 and counts["updated"] == 0 and counts["rejected"] == 0
    assert paper_count(db) == EXPECTED_CS_PAPERS


def test_seed_listing_and_recorded_api_responses_give_exact_counts(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    run("--db", db, "ingest", str(shared_path("seed", "papers-listing.txt")))
    assert paper_count(Path(db)) == 45
    run("--db", db, "ingest", str(shared_path("data", "fixtures", "hf_daily_papers",
                                               "sotawhat_hf_daily_papers.json")))
    assert paper_count(Path(db)) == 45 + 30
    atom_files = sorted(str(p) for p in shared_path("data", "fixtures", "arxiv_api").glob("*.xml"))
    assert len(atom_files) == 4
    run("--db", db, "ingest", *atom_files)
    assert paper_count(Path(db)) == 45 + 30 + 8


def test_database_url_from_the_environment_and_default_location(tmp_path: Path) -> None:
    listing = str(shared_path("seed", "papers-listing.txt"))
    env_db = tmp_path / "env.db"
    run("ingest", listing, env={"PAPERSCOPE_DATABASE_URL": f"sqlite:///{env_db}"})
    assert env_db.exists()
    data_home = tmp_path / "data-home"
    env = {k: v for k, v in os.environ.items() if k != "PAPERSCOPE_DATABASE_URL"}
    env["XDG_DATA_HOME"] = str(data_home)
    result = subprocess.run([sys.executable, "-m", "paperscope", "stats", "--json"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (data_home / "paperscope" / "paperscope.db").exists()
    assert json.loads(result.stdout)["papers"] == 0


def test_bad_input_exits_cleanly_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "2501.00001", "title": "Good", "abstract": "A."}\n{"id": \n', encoding="utf-8")
    db = str(tmp_path / "x.db")
    lenient = run("--db", db, "ingest", str(bad))
    assert "added 1, updated 0, unchanged 0, rejected 1" in lenient.stdout
    assert f"{bad}:line 2: rejected: not valid JSON" in lenient.stderr
    strict = run("--db", db, "ingest", "--strict", str(bad), check=False)
    assert strict.returncode == 1 and "--strict" in strict.stderr
    missing = run("--db", db, "ingest", str(tmp_path / "nope.jsonl"), str(bad), check=False)
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr + strict.stderr
    problems = tmp_path / "problems.jsonl"
    run("--db", db, "ingest", "--quiet", "--problems", str(problems), str(bad))
    assert json.loads(problems.read_text().splitlines()[0])["where"] == "line 2"


def test_format_override(tmp_path: Path) -> None:
    listing = tmp_path / "looks-like-bibtex.txt"
    listing.write_text("@home\n\nA Title Here\n\n" + "Words that form an abstract sentence. " * 10 + "\n",
                       encoding="utf-8")
    db = str(tmp_path / "x.db")
    result = run("--db", db, "ingest", "--format", "listing", str(listing))
    assert result.stdout.startswith("added 1,")


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help and command.help.split()[0] in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_ingest_loses_and_corrupts_nothing(tmp_path: Path) -> None:
    files = sorted(str(p) for p in shared_path("data", "arxiv", "cs").glob("*.jsonl"))
    db = tmp_path / "x.db"
    run("--db", str(db), "ingest", files[0])
    before = sqlite3.connect(db).execute("SELECT id, title, abstract FROM papers ORDER BY id").fetchall()
    process = subprocess.Popen([sys.executable, "-m", "paperscope", "--db", str(db), "ingest", *files],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [row[0] for row in before]
        kept = conn.execute(f"SELECT id, title, abstract FROM papers WHERE id IN ({','.join('?' * len(ids))}) "
                            "ORDER BY id", ids).fetchall()
    assert kept == before
    run("--db", str(db), "ingest", *files)
    assert paper_count(db) == EXPECTED_CS_PAPERS
