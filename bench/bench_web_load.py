"""Load on `paperscope serve` over the 17,142 papers of ../shared/data/arxiv/cs, measured with wrk.

    nice -n 5 python bench/bench_web_load.py [--duration 60] [--connections 8]

Builds (once, cached in bench/.cache/web-cs.db with its indexes) a database of every listing file in
../shared/data/arxiv/cs plus the recorded Hugging Face daily papers, embedded with the default model
(all-MiniLM-L6-v2, ONNX int8), then starts `paperscope serve` as a subprocess on a free loopback port
(one process, background jobs off, no access log) and runs wrk (Debian's package `wrk`) against it,
one route at a time, for `--duration` seconds each:

* `/static/style.css`: the baseline, a static file served by the same server the same way;
* `/`: the trending page (today's window of the database: every listing paper, ranked);
* `/search?q=...`: the search page, hybrid, cycling through 24 different queries;
* `/api/search?q=...`: the JSON search API, the same queries.

Reported per route: requests/s, latency p50/p95/p99 (wrk's own histogram, through a Lua `done` hook),
errors (socket errors and non-2xx answers), and requests/s as a ratio to the baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote_plus

import httpx

from benchlib import ARXIV_CS, CACHE, REPO, SHARED_DATA, WEB_DB, arguments, require

QUERIES = [
    "diffusion models for video generation", "large language model reasoning", "gaussian splatting",
    "vision language models hallucination", "reinforcement learning from human feedback", "3D scene reconstruction",
    "retrieval augmented generation", "graph neural networks", "multimodal benchmark", "speech recognition",
    "autonomous driving perception", "medical image segmentation", "federated learning privacy",
    "contrastive learning", "object detection transformer", "text to image alignment", "robot manipulation policy",
    "knowledge distillation", "mixture of experts", "low rank adaptation", "point cloud", "machine translation",
    "anomaly detection", "chain of thought",
]
# wrk's Lua hooks: `done` prints the summary as one JSON line; CYCLE's `request` goes through the given paths.
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, '
    .. '"p99_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""
LUA_CYCLE = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def env() -> dict[str, str]:
    paths = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": paths, "PAPERSCOPE_BACKGROUND_JOBS": "false"}


def paperscope(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "paperscope", "--db", str(WEB_DB), *args], env=env(), check=True)


def build() -> None:
    """Ingest every listing file and the HF daily papers, then embed and index (skipped when cached)."""
    CACHE.mkdir(exist_ok=True)
    if WEB_DB.exists() and json.loads(subprocess.run(
            [sys.executable, "-m", "paperscope", "--db", str(WEB_DB), "stats", "--json"], env=env(), check=True,
            capture_output=True, text=True).stdout)["papers"] >= 17_000:
        paperscope("index")  # a no-op when nothing is new
        return
    files = sorted(str(p) for p in require(ARXIV_CS).glob("*.jsonl"))
    hf_daily = SHARED_DATA / "fixtures" / "hf_daily_papers" / "sotawhat_hf_daily_papers.json"
    paperscope("ingest", "-q", *files, str(hf_daily))
    started = time.perf_counter()
    paperscope("index")
    print(f"  embedded and indexed in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_wrk(url: str, script: str, duration: int, connections: int) -> dict[str, float]:
    """wrk with a Lua script (ending in LUA_DONE) against `url`: requests/s, latency percentiles, errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
                              "-s", handle.name, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(handle.name)
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    raw = json.loads(line.removeprefix("RESULT "))
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {"rps": raw["requests"] / (raw["duration_us"] / 1e6), "p50": raw["p50_us"] / 1000,
            "p95": raw["p95_us"] / 1000, "p99": raw["p99_us"] / 1000, "requests": raw["requests"], "errors": errors}


def wrk(url: str, paths: list[str], duration: int, connections: int) -> dict[str, float]:
    """wrk cycling through `paths`."""
    return run_wrk(url, LUA_CYCLE % ", ".join(json.dumps(p) for p in paths) + LUA_DONE, duration, connections)


@contextmanager
def serving(database: str, log_path: Path, *args: str, extra_env: dict[str, str] | None = None
            ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`paperscope serve ARGS` on a free loopback port until it answers; yields (base URL, process)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "paperscope", "--db", database, "serve", "--port", str(port),
                                   "--no-access-log", "--log-level", "warning", *args],
                                  env={**env(), **(extra_env or {})}, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 1200
            while True:
                try:
                    if httpx.get(f"{base}/api/status", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"paperscope serve did not start; see {log_path}")
                time.sleep(0.3)
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=60)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--duration", type=int, default=60, help="Seconds of load per route.")
    parser.add_argument("--connections", type=int, default=8, help="Concurrent connections of wrk.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    build()
    with serving(str(WEB_DB), CACHE / "web-serve.log", "--no-jobs") as (base, _server):
        papers = httpx.get(f"{base}/api/status").json()["papers"]
        searches = [f"/search?q={quote_plus(q)}" for q in QUERIES]
        api = [f"/api/search?q={quote_plus(q)}&limit=20" for q in QUERIES]
        for path in ["/", *searches, *api]:  # warm up: model loaded, indexes open, rankings cached
            httpx.get(base + path, timeout=60).raise_for_status()
        trending_total = httpx.get(f"{base}/api/trending").json()["total"]
        routes = [("baseline: /static/style.css", ["/static/style.css"]), ("/", ["/"]),
                  ("/search?q=... (24 queries)", searches), ("/api/search?q=... (24 queries)", api)]
        results = {}
        for name, paths in routes:
            results[name] = wrk(base, paths, args.duration, args.connections)
            print(f"  {name}: {results[name]['rps']:.0f} req/s", file=sys.stderr)
    baseline = results["baseline: /static/style.css"]["rps"]
    print(f"\n{papers:,} papers; `/` ranks {trending_total:,} papers of today's window; wrk -t1 -c{args.connections} "
          f"-d{args.duration}s per route; {os.cpu_count()} cores\n")
    print("| route | req/s | ratio to baseline | p50 ms | p95 ms | p99 ms | requests | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['rps']:.0f} | {r['rps'] / baseline:.2f} | {r['p50']:.1f} | {r['p95']:.1f} | "
              f"{r['p99']:.1f} | {r['requests']:,.0f} | {r['errors']:.0f} |")


if __name__ == "__main__":
    main()
