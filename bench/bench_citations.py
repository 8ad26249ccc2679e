"""Does the citation graph help `similar`? Co-citation measured on SciFact, the one real citation data here.

Each SciFact claim was written from a sentence of a citing paper, and lists the corpus abstracts that sentence
cites (`cited_doc_ids`): abstracts cited together are co-cited. The training claims give the co-citation graph;
each validation claim that cites two or more abstracts gives test pairs: from one of its abstracts, how high do
`similar`'s rankings put the others?

* baseline: `similar` as shipped, cosine of the packaged model's vectors (exact, over the 5,183 abstracts);
* with co-citation: as `similar` ranks when a paper has citation ties: the vector ranking's top SIMILAR_DEPTH
  fused (reciprocal rank fusion, as hybrid search fuses) with the papers tied to it in the training graph, most
  ties first.

    python bench/bench_citations.py            # embeds the corpus once (about a minute), cached in bench/.cache

Prints recall@10 and MRR of both, and how many test pairs the training graph can reach at all.

Recommendations, the same way: each test pair is a user whose library is the one abstract, the other to be
recommended; the shipped recommender (`Recommender`, its rank fusion of SVMs and the graph ranker) with and
without the citation ties of the library, on a store of the corpus whose citation edges are the training claims'
(each claim a citing paper). Pass --no-recommend to skip it (it ranks 5,183 papers for each of 130 users).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import sys
import zipfile
from collections import Counter, defaultdict

import numpy as np

from benchlib import CACHE, SCIFACT, require
from paperscope.config import Settings
from paperscope.embed import get_embedder
from paperscope.index.hybrid import reciprocal_rank_fusion
from paperscope.index.search import SIMILAR_DEPTH
from paperscope.models import Paper
from paperscope.recommend.engine import Recommender
from paperscope.store import open_store

RRF_K = 60


def claims(split: str) -> list[list[str]]:
    """The cited abstracts of each claim of a split (claims repeated per evidence row are read once)."""
    with zipfile.ZipFile(require(SCIFACT / "scifact_hf_csv.zip")) as archive:
        rows = csv.DictReader(io.TextIOWrapper(archive.open(f"claims_{split}.csv"), encoding="utf-8"))
        cited: dict[str, list[str]] = {}
        for row in rows:
            cited[row["id"]] = re.findall(r"\d+", row["cited_doc_ids"] or "")  # "[123 456]" (numpy's print)
    return list(cited.values())


def vectors(ids: list[str], texts: list[str]) -> np.ndarray:
    path = CACHE / "scifact-citations-minilm.npy"
    if path.exists():
        cached = np.load(path)
        if len(cached) == len(ids):
            return cached
    CACHE.mkdir(exist_ok=True)
    embedded = get_embedder("minilm").embed(texts)
    np.save(path, embedded)
    return embedded


def main() -> None:
    corpus = [json.loads(line) for line in require(SCIFACT / "corpus.jsonl").open(encoding="utf-8")]
    ids = [str(doc["id"]) for doc in corpus]
    row = {doc_id: n for n, doc_id in enumerate(ids)}
    vecs = vectors(ids, [f"{doc['title']}. {doc['abstract']}" for doc in corpus]).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)

    cocited: dict[str, Counter[str]] = defaultdict(Counter)
    for cited in claims("train"):
        for a, b in itertools.permutations([d for d in cited if d in row], 2):
            cocited[a][b] += 1
    pairs = [(a, b) for cited in claims("validation") for a, b in itertools.permutations(
        [d for d in cited if d in row], 2)]
    reachable = sum(1 for a, b in pairs if cocited[a][b])
    print(f"SciFact: {len(ids)} abstracts; co-citation graph from {len(claims('train'))} training claims: "
          f"{sum(len(c) for c in cocited.values()) // 2} edges among {len(cocited)} abstracts")
    print(f"test pairs (validation claims citing 2+ abstracts): {len(pairs)}; joined in the training graph: "
          f"{reachable}")

    k = Settings().rrf_k
    results: dict[str, list[int | None]] = {"text (baseline)": [], "text + co-citation": []}
    for a, b in pairs:
        scores = vecs @ vecs[row[a]]
        scores[row[a]] = -np.inf
        text = [ids[n] for n in np.argsort(-scores, kind="stable")]
        results["text (baseline)"].append(text.index(b))
        # As SearchEngine.similar fuses: the vector ranking's top SIMILAR_DEPTH with the papers tied by citations.
        neighbours = [doc for doc, _ in sorted(cocited.get(a, Counter()).items(), key=lambda t: (-t[1], t[0]))]
        fused = [doc for doc, _ in reciprocal_rank_fusion([text[:SIMILAR_DEPTH], neighbours[:SIMILAR_DEPTH]], k=k)]
        results["text + co-citation"].append(fused.index(b) if b in fused else None)  # None: below the depth
    mrr = {}
    for name, positions in results.items():
        recall = np.mean([p is not None and p < 10 for p in positions])
        mrr[name] = np.mean([1.0 / (p + 1) if p is not None else 0.0 for p in positions])
        print(f"{name:20} recall@10 {recall:.3f}   MRR {mrr[name]:.3f}")
    print(f"ratio (with co-citation / baseline), MRR: {mrr['text + co-citation'] / mrr['text (baseline)']:.2f}")
    if "--no-recommend" not in sys.argv:
        recommendations(corpus, vecs, pairs)
    apart = [n for n, (a, b) in enumerate(pairs) if not cocited[a][b]]  # what the ties cost where they do not help
    for name, positions in results.items():
        kept = [positions[n] for n in apart]
        print(f"  pairs not tied in the graph ({len(apart)}), {name}: recall@10 "
              f"{np.mean([p is not None and p < 10 for p in kept]):.3f}")


def recommendations(corpus: list[dict[str, str]], vecs: np.ndarray, pairs: list[tuple[str, str]]) -> None:
    """Each pair as a user (library: the first abstract), ranked by the recommender with and without the ties."""
    path = CACHE / "scifact-citations.db"
    path.unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{path}", embedding_model="minilm")
    embedder = get_embedder("minilm")
    papers = [Paper(id=f"s2corpus:{doc['id']}", title=doc["title"], abstract=doc["abstract"], sources=["scifact"])
              for doc in corpus]
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers)
        for start in range(0, len(papers), 1000):
            store.save_embeddings(embedder.name, embedder.version, papers[start:start + 1000],
                                  vecs[start:start + 1000])
        # Each training claim is a citing paper (not stored) citing its abstracts: the co-citation graph above.
        titles = {str(doc["id"]): doc["title"] for doc in corpus}
        store.upsert_papers([Paper(id=f"s2corpus:{doc}", title=titles[doc], sources=["scifact"],
                                   cited_by=[f"paperscope:claim-{n}"])
                             for n, cited in enumerate(claims("train")) for doc in cited if doc in titles])
        users = {}
        for n, (a, _) in enumerate(pairs):
            user = store.accounts.create_user(f"reader{n}@example.org")
            store.accounts.set_library_state(user.id, [f"s2corpus:{a}"], "saved")
            users[n] = user.id
        found: dict[str, list[int | None]] = {}
        for name, citations in (("recommender (baseline)", False), ("recommender + citations", True)):
            recommender = Recommender(store, settings, embedder=embedder, citations=citations)
            found[name] = []
            for n, (_, b) in enumerate(pairs):
                ranked = [r.paper.id for r in recommender.recommend(users[n], limit=100)]
                found[name].append(ranked.index(f"s2corpus:{b}") if f"s2corpus:{b}" in ranked else None)
    mrr = {}
    for name, positions in found.items():
        recall = np.mean([p is not None and p < 10 for p in positions])
        mrr[name] = np.mean([1.0 / (p + 1) if p is not None else 0.0 for p in positions])
        print(f"{name:24} recall@10 {recall:.3f}   MRR {mrr[name]:.3f}")
    print(f"ratio (with citations / baseline), MRR: "
          f"{mrr['recommender + citations'] / mrr['recommender (baseline)']:.2f}")


if __name__ == "__main__":
    main()
