"""Embedding throughput of the whole indexing pipeline beside the raw model call on the same texts.

    python bench/bench_index.py [--n 500] [--model minilm]

Pipeline: `index_papers()` (paperscope.indexing) on a fresh database holding N SciFact abstracts: read the papers
to embed from the store, embed them, store the vectors, then update the keyword and vector indexes. Raw: the same
embedder's `embed()` over the same texts in the same batches, nothing else. Both in the same run, after one
warm-up call, so the model export and load are not counted. Goal: the pipeline at >= 90 % of the raw call.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from benchlib import SCIFACT, arguments, require
from paperscope.config import Settings
from paperscope.embed import get_embedder
from paperscope.embed.base import document_text
from paperscope.index.search import SearchEngine
from paperscope.indexing import EMBED_BATCH, index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.store import open_store

CORPUS = SCIFACT / "corpus.jsonl"


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--model", default="minilm")
    args = parser.parse_args()
    require(CORPUS)
    embedder = get_embedder(args.model)
    embedder.embed(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.jsonl"
        lines = CORPUS.read_text(encoding="utf-8").splitlines()[: args.n]
        sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
        db = str(Path(tmp) / "bench.db")
        store = open_store(db)
        settings = Settings(database_url=db)
        Ingester(store, settings).ingest(str(sample))
        papers = [p for batch in store.papers_to_embed(embedder.name, batch_size=EMBED_BATCH) for p in batch]
        texts = [document_text(p) for p in papers]

        started = time.perf_counter()
        for start in range(0, len(texts), EMBED_BATCH):
            embedder.embed(texts[start:start + EMBED_BATCH])
        raw = time.perf_counter() - started

        engine = SearchEngine(store, settings, embedder=embedder)
        started = time.perf_counter()
        report = index_papers(engine)
        pipeline = time.perf_counter() - started
        store.close()
    assert report.embedded == len(texts)
    print(json.dumps({"model": embedder.name, "abstracts": len(texts)}))
    print(f"raw embed() call          {len(texts) / raw:8.1f} abstracts/s  ({raw:.1f} s)")
    print(f"pipeline (store -> store) {len(texts) / pipeline:8.1f} abstracts/s  ({pipeline:.1f} s)")
    print(f"pipeline / raw: {raw / pipeline:.1%}  (goal >= 90 %)")


if __name__ == "__main__":
    main()
