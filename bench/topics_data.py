"""Real collections for the topics benchmark, embedded once with the default model and cached.

    python bench/topics_data.py            # embeds arxiv/cs and SciFact into bench/.cache/ (minutes)

arxiv/cs: the daily listings of ../shared/data/arxiv/cs, one record per paper (the first listing it appears in
gives its date), its primary category as the label. SciFact: the corpus of ../shared/data/scifact (no labels).
Vectors come from `paperscope.embed.get_embedder("minilm")` on `document_text(paper)`, exactly what
`paperscope index` stores, and are cached as .npz under bench/.cache/ keyed by the embedder's name.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass

import numpy as np

from benchlib import ARXIV_CS, CACHE, SCIFACT, require
from paperscope.embed import get_embedder
from paperscope.embed.base import document_text
from paperscope.ingest.base import Entry
from paperscope.ingest.jsonl import read_jsonl
from paperscope.models import Paper


@dataclass
class Collection:
    name: str
    papers: list[Paper]  # `published` set to the listing date where the source has one
    vectors: np.ndarray  # float32, one unit row per paper

    @property
    def labels(self) -> list[str]:
        return [p.primary_category or "" for p in self.papers]


def read_arxiv_cs() -> list[Paper]:
    seen: dict[str, Paper] = {}
    for path in sorted(require(ARXIV_CS).glob("*.jsonl")):
        day = dt.date.fromisoformat(path.stem)
        with path.open("rb") as stream:
            for item in read_jsonl(stream, str(path)):
                if isinstance(item, Entry) and item.paper.id not in seen:
                    item.paper.published = day
                    seen[item.paper.id] = item.paper
    return list(seen.values())


def read_scifact() -> list[Paper]:
    with require(SCIFACT / "corpus.jsonl").open("rb") as stream:
        return [item.paper for item in read_jsonl(stream, "scifact") if isinstance(item, Entry)]


def embedded(name: str, papers: list[Paper], model: str = "minilm") -> Collection:
    """The papers with their vectors, from the cache or embedded now (and cached)."""
    embedder = get_embedder(model)
    cache = CACHE / f"{name}-{embedder.name.replace('/', '_')}.npz"
    ids = [p.id for p in papers]
    if cache.exists():
        stored = np.load(cache)
        if list(stored["ids"]) == ids:
            return Collection(name, papers, stored["vectors"])
    started = time.perf_counter()
    blocks = []
    for start in range(0, len(papers), 256):
        blocks.append(embedder.embed([document_text(p) for p in papers[start:start + 256]]))
        print(f"  {name}: embedded {start + len(blocks[-1]):,} of {len(papers):,} "
              f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    vectors = np.vstack(blocks).astype(np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, ids=np.asarray(ids), vectors=vectors)
    return Collection(name, papers, vectors)


def arxiv_cs() -> Collection:
    return embedded("arxiv-cs", read_arxiv_cs())


def scifact() -> Collection:
    return embedded("scifact", read_scifact())


if __name__ == "__main__":
    for collection in (arxiv_cs(), scifact()):
        print(f"{collection.name}: {len(collection.papers):,} papers, vectors {collection.vectors.shape}")
