"""Embedding spread over a Dask cluster: a local one (`local`) or a running scheduler (`tcp://host:8786`).

Batches are embedded on the workers and handed back as they finish; the caller stores each one at
once, so a job that dies part-way resumes from what is already stored. At most two batches per worker
are in flight, so memory stays bounded however many papers there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from paperscope.embed.base import Embedder, document_text
from paperscope.errors import ConfigError, Fix, require_extra
from paperscope.models import Paper

IN_FLIGHT_PER_WORKER = 2


def _embed(embedder: Embedder, texts: list[str]) -> np.ndarray:
    return embedder.embed(texts)


def embed_on_cluster(embedder: Embedder, batches: Iterable[list[Paper]], address: str, *,
                     workers: int = 2) -> Iterator[tuple[list[Paper], np.ndarray]]:
    """(batch, vectors) pairs in completion order, computed on the cluster at `address` ("local": start one)."""
    distributed: Any = require_extra("distributed", "cluster", "Embedding on a cluster")
    cluster = None
    try:
        if address == "local":
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None)
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(address, timeout="20s")
    except OSError as exc:
        raise ConfigError(f"Cannot reach the Dask scheduler at {address} ({exc}).", fix=Fix.START_CLUSTER) from exc
    try:
        remote = client.scatter(embedder, broadcast=True)  # each worker loads the model once
        limit = IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
        pending = distributed.as_completed()
        owners: dict[Any, list[Paper]] = {}
        source = iter(batches)

        def submit_next() -> bool:
            batch = next(source, None)
            if batch is None:
                return False
            future = client.submit(_embed, remote, [document_text(p) for p in batch], pure=False)
            owners[future] = batch
            pending.add(future)
            return True

        while len(owners) < limit and submit_next():
            pass
        for future in pending:
            yield owners.pop(future), future.result()
            submit_next()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
