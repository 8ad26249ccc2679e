"""The 2-D topic-map layout: paperscope's (UMAP on a sample, the rest placed by their nearest sampled papers)
beside UMAP's own `transform` of the rest (the baseline) and UMAP on every paper, same run.

    python bench/bench_layout.py [--quality-n 6000] [--big 100000]

Quality: trustworthiness@10 (scikit-learn; how many of each paper's 10 map neighbours are its neighbours in the
50-d clustering space) on the first `--quality-n` arxiv/cs papers, sample 1/4 of them. Speed: wall time and
peak Python memory of each method at `--big` papers (real vectors replicated with noise), single-threaded.
Embeddings come from the cache that bench/topics_data.py writes.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.manifold import trustworthiness

import topics_data
from bench_topics import measured
from benchlib import arguments
from paperscope.topics import Layout, Reducer


def umap_transform(Z: np.ndarray, fit_sample: int) -> np.ndarray:
    """The baseline: UMAP fitted on a sample, the other rows through `UMAP.transform`."""
    import umap

    rng = np.random.default_rng(0)
    fit = np.sort(rng.choice(len(Z), min(fit_sample, len(Z)), replace=False))
    rest = np.setdiff1d(np.arange(len(Z)), fit)
    reducer = umap.UMAP(n_neighbors=15, min_dist=0.1, metric="cosine", random_state=0, n_jobs=1, init="spectral")
    xy = np.empty((len(Z), 2), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xy[fit] = reducer.fit_transform(Z[fit])
        if len(rest):
            xy[rest] = reducer.transform(Z[rest])
    return xy


def quality(X: np.ndarray) -> None:
    Z = Reducer().fit_transform(X)
    sample = len(Z) // 4
    print(f"trustworthiness@10 on {len(Z):,} arxiv/cs papers (sample {sample:,}):")
    for name, run in [("UMAP on every paper", lambda: Layout(fit_sample=len(Z)).fit_transform(Z)),
                      ("UMAP on the sample + UMAP.transform (baseline)", lambda: umap_transform(Z, sample)),
                      ("UMAP on the sample + nearest placement (paperscope)",
                       lambda: Layout(fit_sample=sample).fit_transform(Z))]:
        xy, sec, _ = measured(run)
        print(f"  {name:52s} {trustworthiness(Z, xy, n_neighbors=10, metric='cosine'):.3f}  ({sec:.1f} s)")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--quality-n", type=int, default=6000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--skip-quality", action="store_true", help="Only the timings at --big papers.")
    args = parser.parse_args()
    X = topics_data.arxiv_cs().vectors

    if not args.skip_quality:
        quality(X[: args.quality_n])

    noise = np.random.default_rng(1)
    big = np.vstack([X] * (args.big // len(X) + 1))[: args.big]
    big = big + noise.normal(0, 0.02, big.shape).astype(np.float32)
    big /= np.linalg.norm(big, axis=1, keepdims=True)
    Zb = Reducer().fit_transform(big)
    print(f"\n{args.big:,} papers:")
    umap_transform(Zb[:6000], 5000)  # numba compiles UMAP (and NN-descent, used above 4,096 rows) on first use
    _, ours, ours_mib = measured(lambda: Layout().fit_transform(Zb))
    print(f"  paperscope (UMAP on 10,000, the rest placed): {ours:.1f} s, {ours_mib:.0f} MiB")
    _, base, base_mib = measured(lambda: umap_transform(Zb, 10_000))
    print(f"  baseline (UMAP on 10,000, UMAP.transform of the rest): {base:.1f} s, {base_mib:.0f} MiB; "
          f"paperscope takes {ours / base:.2f}x the time")


if __name__ == "__main__":
    main()
