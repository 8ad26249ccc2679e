"""Building the whole topic map at scale: wall time and peak memory, beside scikit-learn k-means in the same run.

    python bench/bench_topics_scale.py --source PATH [--baseline minibatch|kmeans ...] [--keep]
    python bench/bench_topics_scale.py --streamed [--source bench/.cache/scale-db-1000000.db]

PATH is a paperscope SQLite database with stored vectors (e.g. the 1,000,000-paper one that
`bench/bench_search_latency.py --n 1000000` caches as bench/.cache/latency-1000000.db). It is copied to
bench/.cache/topics-scale.db first (the copy is upgraded to this branch's schema and gets the map; the source
is never opened); --keep reuses an existing copy, whose map the build then replaces (a rebuild).

paperscope: `build_map` exactly as `paperscope topics --rebuild` runs it: load the vectors, reduce, PPP, scores,
further topics, ambiguity, the 2-D layout, labels, stable ids, storing every assignment. Baseline: load the same
vectors the same way, then scikit-learn's MiniBatchKMeans (and/or KMeans) at the k paperscope chose; nothing is
labelled, laid out or stored. Each runs in a process of its own, so each peak RSS (ru_maxrss) is its own; a
thread samples the RSS every 0.2 s to tell in which step the peak fell.

--streamed: the map built from chunks (`build_map(streamed=True)`, what a store past `STREAM_ABOVE` vectors
gets: the vectors read 50,000 at a time, pass after pass, only the 50-d reduced ones held) beside the map built
with every vector in memory (`streamed=False`, the path below `STREAM_ABOVE`), on the same copy, each in its own
process; the two maps' agreement is the adjusted Rand index of their assignments. Its default source is the
replicated database of bench/make_scale_db.py (`--n 1000000`, or `--n 10000000` for the 10M run, where the
in-memory side, which needs the 15 GiB of vectors, gives way to a baseline that reads the same chunks:
scikit-learn's MiniBatchKMeans at paperscope's k, one partial_fit a chunk). --in-place builds the map in the source
database itself instead of a copy (the 10M store, 24 GiB, does not fit the disk twice); it only adds the map's
tables' rows, which no other benchmark reads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import CACHE, arguments, require_cache

WORK_DB = CACHE / "topics-scale.db"
DEFAULT_SOURCE = CACHE / "latency-1000000.db"
STREAMED_DB = CACHE / "scale-topics.db"
MODEL = "all-MiniLM-L6-v2/onnx-int8"


class RssSampler:
    """The peak resident memory of this process per named step, sampled by a daemon thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.step = "start"
        self.peaks: dict[str, float] = {}
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def enter(self, step: str) -> None:
        self._sample()
        self.step = step

    def _sample(self) -> None:
        rss = current_rss_mib()
        self.peaks[self.step] = max(self.peaks.get(self.step, 0.0), rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()


def current_rss_mib() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_paperscope(db: Path, streamed: bool | None = None, save_labels: bool = True) -> dict[str, Any]:
    from paperscope.config import Settings
    from paperscope.store import open_store
    from paperscope.topics.build import build_map

    store = open_store(str(db))
    settings = Settings(database_url=str(db))
    with RssSampler() as sampler:
        sampler.enter("load")
        started = time.perf_counter()
        report = build_map(store, settings, model_name=MODEL, progress=sampler.enter, streamed=streamed)
        seconds = time.perf_counter() - started
    if streamed is not None and save_labels:
        import numpy as np

        labels = dict((a.paper_id, a.topic_id if a.topic_id is not None else -1)
                      for a in store.topics.assignments())
        np.save(db.with_suffix(f".labels-{streamed}.npy"), np.array([labels[i] for i in sorted(labels)]))
    return {"seconds": seconds, "peak_mib": peak_rss_mib(), "k": report.map.n_topics, "papers": report.map.n_papers,
            "steps_seconds": report.seconds, "steps_peak_mib": sampler.peaks,
            "params": report.map.params}


def run_baseline(db: Path, method: str, k: int) -> dict[str, Any]:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    from paperscope.store import open_store

    store = open_store(str(db))
    with RssSampler() as sampler:
        sampler.enter("load")
        started = time.perf_counter()
        ids, X = store.load_embeddings(MODEL)
        loaded = time.perf_counter() - started
        sampler.enter(method)
        if method == "kmeans":
            KMeans(n_clusters=k, random_state=0).fit(X)
        else:
            MiniBatchKMeans(n_clusters=k, random_state=0, batch_size=4096, n_init=3).fit(X)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "load_seconds": loaded, "peak_mib": peak_rss_mib(), "papers": len(ids),
            "steps_peak_mib": sampler.peaks}


def run_streamed_baseline(db: Path, k: int) -> dict[str, Any]:
    """The baseline past what memory holds: scikit-learn's MiniBatchKMeans at paperscope's k, one partial_fit per
    chunk of the same reading (`StoredChunks`, 50,000 vectors), one pass; nothing labelled, laid out or stored."""
    from sklearn.cluster import MiniBatchKMeans

    from paperscope.store import open_store
    from paperscope.topics.build import StoredChunks

    store = open_store(str(db))
    with RssSampler() as sampler:
        sampler.enter("minibatch, streamed")
        started = time.perf_counter()
        kmeans = MiniBatchKMeans(n_clusters=k, random_state=0, batch_size=4096, n_init=3)
        chunks = StoredChunks(store, MODEL)
        for block in chunks.read():
            kmeans.partial_fit(block)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mib": peak_rss_mib(), "papers": len(chunks.ids),
            "steps_peak_mib": sampler.peaks}


def child(args: list[str]) -> dict[str, Any]:
    """Run one side in a fresh process and return what it printed (its last line, JSON)."""
    done = subprocess.run([sys.executable, __file__, "--child", *args], check=True, stdout=subprocess.PIPE,
                          text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--baseline", nargs="+", default=["minibatch"], choices=["minibatch", "kmeans"])
    parser.add_argument("--keep", action="store_true", help="Reuse bench/.cache/topics-scale.db (a rebuild).")
    parser.add_argument("--streamed", action="store_true", help="The map built from chunks beside the in-memory one.")
    parser.add_argument("--in-place", action="store_true",
                        help="With --streamed: build in the source database itself, not in a copy.")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, db = args.child[0], Path(args.child[1])
        if side == "minibatch-streamed":
            result = run_streamed_baseline(db, int(args.child[2]))
        elif side in ("streamed", "in-memory"):
            result = run_paperscope(db, side == "streamed", save_labels=args.child[2:] != ["alone"])
        else:
            result = run_paperscope(db) if side == "paperscope" else run_baseline(db, side, int(args.child[2]))
        print(json.dumps(result))
        return

    if args.streamed:
        streamed_comparison(args.source if args.source != DEFAULT_SOURCE else CACHE / "scale-db-1000000.db",
                            args.keep, args.in_place)
        return
    if not (args.keep and WORK_DB.exists()):
        require_cache(args.source, "python bench/bench_search_latency.py --n 1000000")
        print(f"copying {args.source} to {WORK_DB}", file=sys.stderr)
        shutil.copyfile(args.source, WORK_DB)
    ours = child(["paperscope", str(WORK_DB)])
    print(f"paperscope build_map on {ours['papers']:,} papers: k {ours['k']}, {ours['seconds']:.1f} s, "
          f"peak RSS {ours['peak_mib']:,.0f} MiB")
    print("  steps (s): " + ", ".join(f"{name} {sec:.1f}" for name, sec in ours["steps_seconds"].items()))
    print("  peak RSS per step (MiB): " + ", ".join(f"{name!r} {mib:,.0f}"
                                                   for name, mib in ours["steps_peak_mib"].items()))
    for method in args.baseline:
        base = child([method, str(WORK_DB), str(ours["k"])])
        print(f"baseline: load + scikit-learn {method} at k {ours['k']}: {base['seconds']:.1f} s "
              f"(load {base['load_seconds']:.1f} s), peak RSS {base['peak_mib']:,.0f} MiB")
        print(f"  paperscope / {method}: {ours['seconds'] / base['seconds']:.2f}x the time, "
              f"{ours['peak_mib'] / base['peak_mib']:.2f}x the peak memory")


def report(name: str, result: dict[str, Any]) -> None:
    print(f"{name} on {result['papers']:,} papers: k {result['k']}, {result['seconds']:.1f} s, "
          f"peak RSS {result['peak_mib']:,.0f} MiB")
    print("  steps (s): " + ", ".join(f"{step} {sec:.1f}" for step, sec in result["steps_seconds"].items()))
    print("  peak RSS per step (MiB): " + ", ".join(f"{step!r} {mib:,.0f}"
                                                   for step, mib in result["steps_peak_mib"].items()))


def streamed_comparison(source: Path, keep: bool, in_place: bool = False) -> None:
    """The streamed build beside the in-memory one (below 10M papers), on one copy of `source` (or on `source`
    itself, `in_place`)."""
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    require_cache(source, "python bench/make_scale_db.py --n 1000000")
    db = source if in_place else STREAMED_DB
    if not in_place and not (keep and STREAMED_DB.exists()):
        print(f"copying {source} to {STREAMED_DB}", file=sys.stderr)
        shutil.copyfile(source, STREAMED_DB)
    import sqlite3

    with sqlite3.connect(db) as connection:
        count = connection.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    in_memory = None
    if count <= 5_000_000:  # first, so that the streamed side is the rebuild (it reads the last map's papers)
        in_memory = child(["in-memory", str(db)])
        report("baseline: build_map with every vector in memory", in_memory)
    # alone: no map to compare with, so its assignments are not read back (10M ids would add to its peak)
    streamed = child(["streamed", str(db)] + ([] if in_memory else ["alone"]))
    report("paperscope build_map from chunks (streamed)", streamed)
    if in_memory is None:  # too many vectors for memory: the baseline reads the same chunks
        base = child(["minibatch-streamed", str(db), str(streamed["k"])])
        print(f"baseline: scikit-learn MiniBatchKMeans at k {streamed['k']}, partial_fit on the same 50,000-vector "
              f"chunks, one pass: {base['seconds']:.1f} s, peak RSS {base['peak_mib']:,.0f} MiB")
        print(f"  paperscope / baseline: {streamed['seconds'] / base['seconds']:.2f}x the time, "
              f"{streamed['peak_mib'] / base['peak_mib']:.2f}x the peak memory")
        return
    agreement = adjusted_rand_score(np.load(db.with_suffix(".labels-True.npy")),
                                    np.load(db.with_suffix(".labels-False.npy")))
    print(f"streamed / in memory: {streamed['seconds'] / in_memory['seconds']:.2f}x the time, "
          f"{streamed['peak_mib'] / in_memory['peak_mib']:.2f}x the peak memory; "
          f"agreement of the two maps (ARI) {agreement:.3f}")


if __name__ == "__main__":
    main()
