"""Embedding speed: all-MiniLM-L6-v2 through our ONNX fp32 and int8 paths beside the raw model call.

    python bench/bench_embed.py [--n 500] [--repeat 3] [--queries 200] [--cache-dir DIR]

Texts: the first --n SciFact abstracts (../shared/data/scifact/corpus.jsonl), as "title. abstract", the text
paperscope embeds for a paper. Baseline, the raw model call: sentence-transformers `encode` on the packaged
model folder, fp32 torch on the CPU, batch 32, normalised. Every path embeds the same texts in the same run.

The machine is shared, so one slow moment must not decide a figure: the texts are cut into chunks of --chunk
(in file order), every path embeds every chunk --repeat times, interleaved, and the best time of each chunk is
kept; abstracts/s is N over the sum of those best times. Each path length-sorts within its call, as it would
in use. Query latency: --queries SciFact queries one at a time on a warm model, median and 95th percentile.
Cosine agreement: int8 against fp32, and fp32 against the raw model call, on the N abstracts. A fourth path is the
int8 model with ONNX Runtime's intra-op threads spinning between runs (its default; paperscope's sessions let them
sleep, decision 0135), to show what that choice costs in throughput and query latency.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

from benchlib import SCIFACT, arguments


def read_texts(n: int) -> list[str]:
    texts = []
    with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as stream:
        for line in stream:
            record = json.loads(line)
            texts.append(f"{record['title']}. {record['abstract']}" if record["abstract"] else record["title"])
            if len(texts) == n:
                break
    return texts


def read_queries(n: int) -> list[str]:
    with (SCIFACT / "beir" / "queries.jsonl").open(encoding="utf-8") as stream:
        return [json.loads(line)["text"] for line, _ in zip(stream, range(n), strict=False)]


def best_chunk_seconds(paths: dict[str, Callable[[list[str]], np.ndarray]], texts: list[str], chunk: int,
                       repeat: int) -> dict[str, float]:
    """Sum over chunks of the best of `repeat` interleaved timings of each path."""
    chunks = [texts[i: i + chunk] for i in range(0, len(texts), chunk)]
    best = {name: [float("inf")] * len(chunks) for name in paths}
    for _ in range(repeat):
        for index, part in enumerate(chunks):
            for name, embed in paths.items():
                start = time.perf_counter()
                embed(part)
                best[name][index] = min(best[name][index], time.perf_counter() - start)
    return {name: sum(times) for name, times in best.items()}


def query_ms(embed_query: Callable[[str], np.ndarray], queries: Sequence[str]) -> tuple[float, float]:
    embed_query("warm up")
    times = []
    for query in queries:
        start = time.perf_counter()
        embed_query(query)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), float(np.percentile(times, 95))


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=500, help="number of abstracts (default 500)")
    parser.add_argument("--repeat", type=int, default=3, help="timings of each chunk per path (default 3)")
    parser.add_argument("--chunk", type=int, default=100, help="abstracts per timed chunk (default 100)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--queries", type=int, default=200, help="queries timed one at a time (default 200)")
    parser.add_argument("--cache-dir", default=None, help="where the ONNX exports live (default: user cache)")
    args = parser.parse_args(argv)
    if not (SCIFACT / "corpus.jsonl").exists():
        print(f"SciFact corpus not found under {SCIFACT}", file=sys.stderr)
        return 2

    import onnxruntime  # type: ignore[import-untyped]
    import sentence_transformers
    import torch

    from paperscope.embed.minilm import MiniLMOnnxEmbedder, model_dir
    from paperscope.embed.onnx_runtime import create_session
    from paperscope.embed.sentence_transformers import quiet_transformers

    texts, queries = read_texts(args.n), read_queries(args.queries)
    with quiet_transformers():
        raw = sentence_transformers.SentenceTransformer(str(model_dir()), device="cpu")
    fp32 = MiniLMOnnxEmbedder("fp32", cache_dir=args.cache_dir, batch_size=args.batch_size)
    int8 = MiniLMOnnxEmbedder("int8", cache_dir=args.cache_dir, batch_size=args.batch_size)
    int8_spinning = MiniLMOnnxEmbedder("int8", cache_dir=args.cache_dir, batch_size=args.batch_size)
    int8_spinning._session = create_session(int8_spinning.model_path, spinning=True)  # the same, but spinning

    def raw_embed(part: list[str]) -> np.ndarray:
        return np.asarray(raw.encode(part, batch_size=args.batch_size, normalize_embeddings=True,
                                     show_progress_bar=False))

    def raw_query(text: str) -> np.ndarray:
        return np.asarray(raw.encode(text, normalize_embeddings=True, show_progress_bar=False))

    paths: dict[str, Callable[[list[str]], np.ndarray]] = {
        "raw model call: sentence-transformers encode, fp32 torch": raw_embed,
        "paperscope minilm-fp32 (ONNX Runtime fp32)": fp32.embed,
        "paperscope minilm-int8 (ONNX Runtime int8, per-channel)": int8.embed,
        "the same int8 with ONNX Runtime's threads spinning (its default)": int8_spinning.embed,
    }
    for embed in paths.values():
        embed(texts[:8])  # warm
    seconds = best_chunk_seconds(paths, texts, args.chunk, args.repeat)
    latencies = [query_ms(embed_query, queries) for embed_query in
                 (raw_query, fp32.embed_query, int8.embed_query, int8_spinning.embed_query)]

    v_raw, v_fp32, v_int8 = raw_embed(texts), fp32.embed(texts), int8.embed(texts)
    cos_int8 = (v_int8 * v_fp32).sum(axis=1)
    cos_fp32 = (v_fp32 * v_raw).sum(axis=1)
    tokens = [len(ids) for ids in fp32.token_ids(texts)]

    base = seconds[next(iter(paths))]
    truncated = float(np.mean(np.array(tokens) == 256))
    print(f"# {args.n} SciFact abstracts (tokens: median {int(np.median(tokens))}, {truncated:.0%} truncated at 256); "
          f"chunks of {args.chunk}, best of {args.repeat}; batch {args.batch_size}")
    print(f"# {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"onnxruntime {onnxruntime.__version__}, sentence-transformers {sentence_transformers.__version__}, "
          f"{os.cpu_count()} CPUs")
    print()
    print("| path | abstracts/s | ratio to raw call | ms/query p50 | ms/query p95 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for (name, total), (p50, p95) in zip(seconds.items(), latencies, strict=True):
        print(f"| {name} | {args.n / total:.1f} | {base / total:.2f} | {p50:.2f} | {p95:.2f} |")
    print(f"\nint8 / fp32 speed: {seconds[list(paths)[1]] / seconds[list(paths)[2]]:.2f}x")
    print(f"cosine int8 vs fp32: mean {cos_int8.mean():.4f}, min {cos_int8.min():.4f}, "
          f"5th percentile {np.percentile(cos_int8, 5):.4f}")
    print(f"cosine ONNX fp32 vs raw call: mean {cos_fp32.mean():.6f}, min {cos_fp32.min():.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
