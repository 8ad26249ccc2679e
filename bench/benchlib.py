"""What several benchmarks share: where the data and the caches are, timing, ratios, options, a PostgreSQL server.

Each benchmark runs on its own (`python bench/bench_x.py`, or `python bench_x.py` from inside bench/); Python puts
the script's folder on sys.path, so `import benchlib` and imports of a sibling benchmark's data builders work
without any path set-up.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "bench" / ".cache"  # databases, vectors and corpora the benchmarks build once and reuse
SHARED_DATA = REPO.parent / "shared" / "data"  # the data sets beside the repository
ARXIV_CS = SHARED_DATA / "arxiv" / "cs"  # 74 daily arXiv cs listings, JSON Lines
SCIFACT = SHARED_DATA / "scifact"  # the BEIR SciFact corpus, queries and relevance judgements

# Embedding caches: databases whose papers are embedded once with the default model, read by several benchmarks.
SCIFACT_DB = CACHE / "scifact-minilm.db"  # written by bench_search_quality.py
WEB_DB = CACHE / "web-cs.db"  # written by bench_web_load.py: arxiv/cs plus the recorded Hugging Face papers


def require(path: Path) -> Path:
    """`path`, or exit with the message every benchmark gives when the shared data is not there."""
    if not path.exists():
        sys.exit(f"{path} not found; this benchmark reads the shared data beside the repository "
                 f"({SHARED_DATA})")
    return path


def require_cache(path: Path, command: str) -> Path:
    """`path`, a cache another benchmark builds, or exit saying which command builds it."""
    if not path.exists():
        sys.exit(f"{path} not found: run {command} first")
    return path


def arguments(description: str | None) -> argparse.ArgumentParser:
    """An argument parser whose --help prints the benchmark's docstring as written."""
    return argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)


def median_seconds(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The median time of `repeat` calls after one warm-up call, and the warm-up's result."""
    result = run()  # warm-up: the pages it reads are cached for the timed runs, the same for every way timed
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def percentile_ms(seconds: list[float], q: float) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    return float(np.percentile(np.asarray(seconds) * 1000, q))


def speedup(before: float, after: float) -> str:
    """The baseline's time over ours, as printed in the tables: "2.6x"."""
    return f"{before / after:,.1f}x"


def _repository_module(relative: str) -> ModuleType:
    """A helper module of the repository outside bench/ (loaded from its file: the repository is no package)."""
    path = REPO / relative
    name = path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def postgres_databases(url: str | None, names: tuple[str, ...] = ("bench_scale_paperscope", "bench_scale_baseline")
                       ) -> Iterator[tuple[str, ...]]:
    """Fresh databases (by default paperscope's and the baseline's) on the given server or on a private,
    durable one started for the run (the test suite's `tests/postgres_cluster.py`); dropped afterwards."""
    import sqlalchemy as sa

    cluster = None
    if url is None:
        helpers = _repository_module("tests/postgres_cluster.py")
        bin_dir = helpers.find_postgres_bin()
        if bin_dir is None:
            sys.exit("PostgreSQL is not installed; pass --postgres-url or install it")
        cluster = helpers.PostgresCluster(bin_dir)
        cluster.start(durable=True)
        url = cluster.url
    assert url is not None
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
        base = sa.engine.make_url(url)
        yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
        if cluster is not None:
            cluster.remove()
