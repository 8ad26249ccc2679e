"""Ingest of bulk snapshots at scale: papers/s per tenth of the file and the process's memory, against a raw parse.

    python bench/bench_ingest_stream.py [--openalex-n 1000000] [--pubmed-n 200000] [--sources openalex,pubmed]
                                        [--backends sqlite,postgresql] [--postgres-url URL]

Inputs, made once and cached under bench/.cache/ (f16-openalex-N.jsonl.gz, f16-pubmed-N.xml.gz): an OpenAlex
snapshot works partition (gzipped JSON Lines, one work a line) of N works and a PubMed baseline file (gzipped
`<PubmedArticleSet>` XML) of N articles, replicated from the recorded real answers in ../shared/data/fixtures
(openalex/: 53 works of two works API responses; pubmed/: 6 efetch articles) with new ids (OpenAlex id and DOI;
PMID and DOI) and perturbed text (10 % of the title's and the abstract's words dropped at random), each copy
keeping the rest of its work: authorships, topics, venue, referenced works (citation edges), MeSH.

Each file is ingested by `paperscope --db DB ingest FILE --quiet --json` (the command a user runs) into a fresh
database, while this script samples the process every 0.2 s: how far it has read the input file (its file
offset, from /proc; records are spread evenly over the file, so a tenth of the bytes is a tenth of the papers)
and its resident memory (VmRSS; VmHWM, the kernel's peak, at the end). Printed per tenth: papers/s and the
highest RSS seen in it, so a rate that falls or a memory that grows with N shows from the first tenth to the last.
The baseline, in the same run and sampled the same way: the raw parse of the same file with the same library and
no store (gzip and `json.loads` per line; defusedxml's `iterparse` with each article cleared). Then the database
size per paper (SQLite: the file and its WAL; PostgreSQL: pg_database_size, a private server unless
--postgres-url, the size of its empty schema subtracted).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from benchlib import CACHE, REPO, SHARED_DATA, arguments, postgres_databases, require

FIXTURES = SHARED_DATA / "fixtures"
SAMPLE_SECONDS = 0.2


def perturb(text: str, rng: random.Random, keep_markup: bool = False) -> str:
    """Drop 10 % of the words (never a word holding markup, so XML stays well-formed)."""
    words = text.split()
    kept = [w for w in words if rng.random() >= 0.1 or (keep_markup and any(c in w for c in "<>&"))]
    return " ".join(kept or words)


# --- inputs ------------------------------------------------------------------------------------------------

def openalex_file(n: int) -> Path:
    path = CACHE / f"f16-openalex-{n}.jsonl.gz"
    if path.exists():
        return path
    works = [w for name in ("peneira_works_search_49.json", "researchhub_author_works_4.json")
             for w in json.loads(require(FIXTURES / "openalex" / name).read_text(encoding="utf-8"))["results"]]
    abstracts = []
    for work in works:
        positions = sorted((p, word) for word, ps in (work.get("abstract_inverted_index") or {}).items() for p in ps)
        abstracts.append(" ".join(word for _, word in positions))
    rng = random.Random(0)
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wb", compresslevel=1) as out:
        for number in range(n):
            template = works[number % len(works)]
            work = dict(template)
            work["id"] = f"https://openalex.org/W{9_000_000_000 + number}"
            work["doi"] = f"https://doi.org/10.5555/f16.openalex.{number}"
            work["ids"] = {"openalex": work["id"], "doi": work["doi"]}
            work["title"] = work["display_name"] = perturb(str(template.get("title") or ""), rng)
            index: dict[str, list[int]] = {}
            for position, word in enumerate(perturb(abstracts[number % len(works)], rng).split()):
                index.setdefault(word, []).append(position)
            work["abstract_inverted_index"] = index or None
            location = dict(template.get("primary_location") or {})  # the venue kept; no shared arXiv/PMC link
            location.update(landing_page_url=work["doi"], pdf_url=None)
            if "arxiv" in json.dumps(location.get("source") or {}).lower():
                location["source"] = None
            work["primary_location"] = location
            work["locations"] = [location]
            work["best_oa_location"] = None
            out.write(orjson.dumps(work) + b"\n")
    partial.replace(path)
    return path


_ARTICLE = re.compile(rb"<PubmedArticle>.*?</PubmedArticle>", re.DOTALL)
_PMID = re.compile(rb'<PMID Version="\d+">\d+</PMID>')
_ID_LIST = re.compile(rb"<ArticleIdList>.*?</ArticleIdList>", re.DOTALL)
_ELOCATION = re.compile(rb"<ELocationID[^>]*>.*?</ELocationID>\s*", re.DOTALL)
_TITLE = re.compile(rb"(<ArticleTitle>)(.*?)(</ArticleTitle>)", re.DOTALL)
_ABSTRACT = re.compile(rb"(<AbstractText[^>]*>)(.*?)(</AbstractText>)", re.DOTALL)


def pubmed_file(n: int) -> Path:
    path = CACHE / f"f16-pubmed-{n}.xml.gz"
    if path.exists():
        return path
    articles = _ARTICLE.findall(require(FIXTURES / "pubmed" / "pubmedpy_efetch_6.xml").read_bytes())
    rng = random.Random(0)

    def perturbed(match: re.Match[bytes]) -> bytes:
        return match[1] + perturb(match[2].decode(), rng, keep_markup=True).encode() + match[3]

    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wb", compresslevel=1) as out:
        out.write(b'<?xml version="1.0" ?>\n<PubmedArticleSet>\n')
        for number in range(n):
            pmid = 90_000_000 + number
            article = _PMID.sub(f'<PMID Version="1">{pmid}</PMID>'.encode(), articles[number % len(articles)], 1)
            article = _ID_LIST.sub(f'<ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId><ArticleId '
                                   f'IdType="doi">10.5555/f16.pubmed.{pmid}</ArticleId></ArticleIdList>'.encode(),
                                   article, 1)
            article = _ELOCATION.sub(b"", article)
            article = _ABSTRACT.sub(perturbed, _TITLE.sub(perturbed, article, 1))
            out.write(article + b"\n")
        out.write(b"</PubmedArticleSet>\n")
    partial.replace(path)
    return path


# --- the raw parse (the baseline), run as this script's child ----------------------------------------------

def raw_parse(fmt: str, path: Path) -> int:
    count = 0
    if fmt == "openalex":
        with gzip.open(path, "rb") as lines:
            for line in lines:
                json.loads(line)
                count += 1
        return count
    from defusedxml.ElementTree import iterparse

    root = None
    with gzip.open(path, "rb") as stream:
        for event, element in iterparse(stream, events=("start", "end")):
            if root is None:
                root = element
            elif event == "end" and element.tag == "PubmedArticle":
                count += 1
                root.clear()
    return count


# --- sampling a process ------------------------------------------------------------------------------------

@dataclass
class Sampled:
    seconds: float
    slice_seconds: list[float] = field(default_factory=list)  # time spent in each tenth of the input
    slice_rss: list[int] = field(default_factory=list)  # highest VmRSS (bytes) seen in each tenth
    peak_rss: int = 0  # VmHWM at the end
    output: str = ""


def _status_bytes(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _file_offset(pid: int, path: Path) -> int | None:
    """How far the process has read `path` (the offset of its open descriptor), None when it has none open."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                    return int(Path(f"/proc/{pid}/fdinfo/{fd}").read_text().split()[1])
            except OSError:
                continue
    except OSError:
        pass
    return None


def sampled_run(command: list[str], path: Path, env: dict[str, str] | None = None) -> Sampled:
    size = path.stat().st_size
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    marks: list[float] = []  # when each tenth of the file had been read
    slice_rss = [0] * 10
    peak = 0
    while process.poll() is None:
        offset = _file_offset(process.pid, path)
        rss = _status_bytes(process.pid, "VmRSS")
        peak = max(peak, _status_bytes(process.pid, "VmHWM"))
        now = time.perf_counter() - started
        if offset is not None:
            while len(marks) < 10 and offset >= size * (len(marks) + 1) / 10:
                marks.append(now)
        tenth = min(len(marks), 9)
        slice_rss[tenth] = max(slice_rss[tenth], rss)
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    output = process.stdout.read().decode() if process.stdout else ""
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    marks += [seconds] * (10 - len(marks))  # the last tenth ends when the process does (its last batch stored)
    marks[-1] = seconds
    slices = [b - a for a, b in zip([0.0, *marks[:-1]], marks, strict=True)]
    return Sampled(seconds, slices, slice_rss, peak, output)


# --- the run -----------------------------------------------------------------------------------------------

def mib(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def report(name: str, n: int, ours: Sampled, raw: Sampled) -> None:
    per = n / 10
    print(f"\n{name}: {n:,} records; paperscope ingest {ours.seconds:,.1f} s ({n / ours.seconds:,.0f} papers/s), "
          f"raw parse {raw.seconds:,.1f} s ({n / raw.seconds:,.0f} records/s): ratio {raw.seconds / ours.seconds:.2f}")
    print(f"{'tenth':>5} {'ingest papers/s':>16} {'ingest RSS MiB':>15} {'raw records/s':>14} {'raw RSS MiB':>12}")
    for tenth in range(10):
        print(f"{tenth + 1:>5} {per / max(ours.slice_seconds[tenth], 1e-9):16,.0f} {mib(ours.slice_rss[tenth]):>15} "
              f"{per / max(raw.slice_seconds[tenth], 1e-9):14,.0f} {mib(raw.slice_rss[tenth]):>12}")
    print(f"peak RSS (VmHWM): ingest {mib(ours.peak_rss)} MiB, raw parse {mib(raw.peak_rss)} MiB; "
          f"last tenth / first tenth, papers/s: {ours.slice_seconds[0] / ours.slice_seconds[-1]:.2f}")


def sqlite_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def postgres_size(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        size = int(conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one())
    engine.dispose()
    return size


def run_source(name: str, path: Path, n: int, databases: dict[str, tuple[str, Callable[[], int]]]) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    raw = sampled_run([sys.executable, __file__, "--raw-parse", name, str(path)], path, env)
    for backend, (database, size_of) in databases.items():
        empty = size_of()
        ours = sampled_run([sys.executable, "-m", "paperscope", "--db", database, "ingest", str(path), "--quiet",
                            "--json"], path, env)
        summary = json.loads(ours.output.strip().splitlines()[-1])
        report(f"{name} into {backend}", n, ours, raw)
        size = size_of() - empty
        print(f"ingest summary {summary}; database {mib(size)} MiB, {size / n:,.0f} bytes per paper: "
              f"{size / n * 10_000_000 / 2**30:,.1f} GiB at 10M papers (extrapolated)")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--raw-parse":
        print(raw_parse(sys.argv[2], Path(sys.argv[3])))
        return
    parser = arguments(__doc__)
    parser.add_argument("--openalex-n", type=int, default=1_000_000)
    parser.add_argument("--pubmed-n", type=int, default=200_000)
    parser.add_argument("--sources", default="openalex,pubmed")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--postgres-url", help="a server where the benchmark may create a database")
    args = parser.parse_args()
    sources = {"openalex": args.openalex_n, "pubmed": args.pubmed_n}
    for name in args.sources.split(","):
        started = time.perf_counter()
        path = openalex_file(sources[name]) if name == "openalex" else pubmed_file(sources[name])
        print(f"{path.name}: {path.stat().st_size / 2**20:,.0f} MiB gzipped "
              f"(made or found in {time.perf_counter() - started:.0f} s)", flush=True)
        databases: dict[str, tuple[str, Callable[[], int]]] = {}
        if "sqlite" in args.backends.split(","):
            db = CACHE / f"f16-ingest-{name}.db"
            for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                stale.unlink(missing_ok=True)
            subprocess.run([sys.executable, "-m", "paperscope", "--db", str(db), "stats", "--json"], check=True,
                           capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
            databases["SQLite"] = (str(db), lambda db=db: sqlite_size(db))  # type: ignore[misc]
        if "postgresql" in args.backends.split(","):
            with postgres_databases(args.postgres_url, ("bench_f16_ingest",)) as (url,):
                subprocess.run([sys.executable, "-m", "paperscope", "--db", url, "stats", "--json"], check=True,
                               capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
                run_source(name, path, sources[name], databases | {"PostgreSQL": (url, lambda: postgres_size(url))})
        else:
            run_source(name, path, sources[name], databases)
        for backend, (database, _) in databases.items():
            if backend == "SQLite":
                for stale in (Path(database), Path(f"{database}-wal"), Path(f"{database}-shm")):
                    stale.unlink(missing_ok=True)
        print(flush=True)


if __name__ == "__main__":
    main()
