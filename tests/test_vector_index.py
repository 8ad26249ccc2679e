"""VectorIndex: exact and IVF paths agree, upserts, removal, filters, retraining, persistence, odd ids."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from paperscope.cli.hints import cli_message
from paperscope.errors import Fix, PaperscopeError, StoreError
from paperscope.index.vector import RETRAIN_FACTOR, VectorIndex

DIM = 32


def unit(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)  # type: ignore[no-any-return]


def random_unit(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    return unit(np.random.default_rng(seed).standard_normal((n, dim)))


def clustered_unit(n: int, dim: int, seed: int = 0, clusters: int = 40) -> np.ndarray:
    """Points around a few centres: neighbours that mean something, as with real embeddings."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((clusters, dim)))
    return unit(centres[rng.integers(0, clusters, n)] + rng.standard_normal((n, dim)) * 0.08)


def embedding_like(n: int, dim: int, seed: int = 0, rank: int = 24) -> np.ndarray:
    """Like real sentence embeddings: most variance in a few directions (a fixed rank-24 basis), a little
    noise in all. Isotropic random vectors would be the ANN's worst case, with no neighbours worth the name."""
    basis = np.random.default_rng(100).standard_normal((rank, dim))
    rng = np.random.default_rng(seed)
    return unit(rng.standard_normal((n, rank)) @ basis + rng.standard_normal((n, dim)) * 0.1)


def brute_force(x: np.ndarray, ids: list[str], q: np.ndarray, k: int) -> list[str]:
    order = np.argsort(-(x @ q), kind="stable")[:k]
    return [ids[i] for i in order]


def ids_for(n: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


@pytest.fixture(scope="module")
def ann_20k() -> tuple[VectorIndex, np.ndarray, list[str]]:
    """20k embedding-like vectors with the ANN path forced (exact_below=0)."""
    x = embedding_like(20_000, 64, seed=1)
    ids = ids_for(len(x))
    index = VectorIndex(64, model="test-model/v1", exact_below=0, threads=2)
    index.add(ids, x)
    assert index.uses_ann
    return index, x, ids


def test_exact_search_matches_brute_force_and_scores_are_cosines() -> None:
    x = random_unit(500)
    ids = ids_for(500)
    index = VectorIndex(DIM)
    index.add(ids, x)
    assert not index.uses_ann
    q = x[7]
    results = index.search(q, 10)
    assert [i for i, _ in results] == brute_force(x, ids, q, 10)
    assert results[0][0] == "p7"
    assert results[0][1] == pytest.approx(1.0, abs=1e-5)
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(s, float) for s in scores)


def test_ann_recall_against_brute_force(ann_20k: tuple[VectorIndex, np.ndarray, list[str]]) -> None:
    index, x, ids = ann_20k
    queries = embedding_like(100, 64, seed=2)
    hits = 0
    for q in queries:
        truth = set(brute_force(x, ids, q, 10))
        hits += len(truth & {i for i, _ in index.search(q, 10)})
    assert hits / (10 * len(queries)) >= 0.95


def test_exact_and_ann_paths_give_the_same_top_results() -> None:
    x = embedding_like(3000, DIM, seed=3)
    ids = ids_for(len(x))
    exact = VectorIndex(DIM, exact_below=10**9)
    ann = VectorIndex(DIM, exact_below=0)
    exact.add(ids, x)
    ann.add(ids, x)
    assert not exact.uses_ann and ann.uses_ann
    queries = embedding_like(50, DIM, seed=4)
    agree = sum(len({i for i, _ in exact.search(q, 10)} & {i for i, _ in ann.search(q, 10)}) for q in queries)
    assert agree / 500 >= 0.95
    top = exact.search(queries[0], 1)[0]
    assert ann.search(queries[0], 1)[0][0] == top[0]
    assert ann.search(queries[0], 1)[0][1] == pytest.approx(top[1], abs=1e-5)


def test_switches_to_ann_when_growing_past_the_threshold() -> None:
    x = random_unit(300)
    index = VectorIndex(DIM, exact_below=200)
    index.add(ids_for(150), x[:150])
    assert not index.uses_ann
    index.add(ids_for(300)[150:], x[150:])
    assert index.uses_ann and len(index) == 300
    assert index.search(x[250], 1)[0][0] == "p250"
    assert np.allclose(index.vector("p3"), x[3])


@pytest.mark.parametrize("exact_below", [0, 10**9], ids=["ann", "exact"])
def test_upsert_replaces_the_vector(exact_below: int) -> None:
    x = random_unit(200)
    index = VectorIndex(DIM, exact_below=exact_below)
    index.add(ids_for(200), x)
    new = random_unit(1, seed=99)[0]
    index.add(["p5"], new[None, :])
    assert len(index) == 200
    assert np.allclose(index.vector("p5"), new)  # type: ignore[arg-type]
    results = index.search(new, 3)
    assert results[0][0] == "p5" and results[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [i for i, _ in index.search(x[5], 200)].count("p5") == 1


def test_add_with_repeated_id_in_one_batch_keeps_the_last() -> None:
    x = random_unit(3)
    index = VectorIndex(DIM)
    index.add(["a", "b", "a"], x)
    assert len(index) == 2
    assert np.allclose(index.vector("a"), x[2])  # type: ignore[arg-type]


@pytest.mark.parametrize("exact_below", [0, 10**9], ids=["ann", "exact"])
def test_remove(exact_below: int) -> None:
    x = random_unit(100)
    index = VectorIndex(DIM, exact_below=exact_below)
    index.add(ids_for(100), x)
    index.remove(["p1", "not-there"])
    index.remove("p2")  # one id, not its characters
    assert len(index) == 98
    assert "p1" not in index and "p3" in index
    assert index.vector("p1") is None
    found = [i for i, _ in index.search(x[1], 100)]
    assert "p1" not in found and "p2" not in found and len(found) == 98
    index.add(["p1"], x[1][None, :])
    assert index.search(x[1], 1)[0][0] == "p1"


def test_many_removals_then_adds_stay_correct() -> None:
    x = random_unit(2000)
    ids = ids_for(2000)
    index = VectorIndex(DIM, exact_below=0)
    index.add(ids, x)
    index.remove(ids[:1500])
    assert len(index) == 500
    live = x[1500:]
    q = random_unit(1, seed=5)[0]
    assert [i for i, _ in index.search(q, 500)] == brute_force(live, ids[1500:], q, 500)
    index.add(ids[:10], x[:10])
    assert len(index) == 510 and index.search(x[3], 1)[0][0] == "p3"


@pytest.mark.parametrize("exact_below", [0, 10**9], ids=["ann", "exact"])
def test_allowed_filter_small_and_large(exact_below: int) -> None:
    x = clustered_unit(5000, DIM, seed=6)
    ids = ids_for(5000)
    index = VectorIndex(DIM, exact_below=exact_below)
    index.add(ids, x)
    q = x[42]
    small = {"p1", "p2", "p3", "p42", "missing"}
    assert [i for i, _ in index.search(q, 10, allowed=small)] == brute_force(
        x[[1, 2, 3, 42]], ["p1", "p2", "p3", "p42"], q, 10)
    even = {f"p{i}" for i in range(0, 5000, 2)}
    found = [i for i, _ in index.search(q, 10, allowed=even)]
    assert len(found) == 10 and set(found) <= even
    truth = brute_force(x[::2], ids[::2], q, 10)
    assert len(set(found) & set(truth)) >= 9
    rare = {f"p{i}" for i in range(0, 5000, 500)}  # few: scored exactly
    assert [i for i, _ in index.search(q, 5, allowed=rare)] == brute_force(x[::500], ids[::500], q, 5)
    assert index.search(q, 5, allowed=set()) == []
    assert index.search(q, 5, allowed={"missing"}) == []


def test_filter_far_from_the_query_widens_the_scan() -> None:
    """Allowed ids that all lie in another cluster: the nearest lists hold none of them, so the IVF scan
    must widen until it finds k of them."""
    x = clustered_unit(6000, DIM, seed=15, clusters=8)
    ids = ids_for(len(x))
    index = VectorIndex(DIM, exact_below=0)
    index.add(ids, x)
    assert index.uses_ann and index.nlist > 16
    q = x[0]
    far = np.argsort(x @ q)[:1500]  # the 1,500 vectors least like the query
    allowed = {ids[i] for i in far}
    found = [i for i, _ in index.search(q, 10, allowed=allowed)]
    assert len(found) == 10 and set(found) <= allowed
    truth = brute_force(x[far], [ids[i] for i in far], q, 10)
    assert len(set(found) & set(truth)) >= 9


def test_empty_index_and_k_larger_than_size() -> None:
    index = VectorIndex(DIM)
    q = random_unit(1)[0]
    assert index.search(q, 10) == []
    assert len(index) == 0 and "x" not in index
    index.add(["a", "b", "c"], random_unit(3))
    assert len(index.search(q, 50)) == 3
    assert index.search(q, 0) == []
    ann = VectorIndex(DIM, exact_below=0)
    ann.add(ids_for(30), random_unit(30))
    assert len(ann.search(q, 1000)) == 30


def test_odd_ids_survive_save_and_load(tmp_path: Path) -> None:
    odd = ["hep-th/9901001", "title-abc", "2503.11731", "ünïcødé 論文", "", "with\nnewline", "a\"quote'"]
    x = random_unit(len(odd))
    index = VectorIndex(DIM, model="m")
    index.add(odd, x)
    path = tmp_path / "vectors.idx"
    index.save(path)
    loaded = VectorIndex.load(path)
    for i, pid in enumerate(odd):
        assert pid in loaded
        assert loaded.search(x[i], 1)[0][0] == pid


@pytest.mark.parametrize("exact_below", [0, 10**9], ids=["ann", "exact"])
def test_save_load_round_trip(tmp_path: Path, exact_below: int) -> None:
    x = clustered_unit(1500, DIM, seed=8)
    ids = ids_for(1500)
    index = VectorIndex(DIM, model="all-MiniLM-L6-v2/onnx-int8@0.1.0", exact_below=exact_below)
    index.add(ids, x)
    index.remove(["p0", "p10"])
    path = tmp_path / "sub" / "vectors.idx"
    index.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["vectors.idx"]  # no temporary file left behind
    loaded = VectorIndex.load(path)
    assert loaded.model == "all-MiniLM-L6-v2/onnx-int8@0.1.0"
    assert loaded.dim == DIM and len(loaded) == 1498 and loaded.uses_ann == index.uses_ann
    assert "p0" not in loaded
    for q in clustered_unit(20, DIM, seed=9):
        assert loaded.search(q, 10) == index.search(q, 10)
    loaded.add(["new"], x[:1])  # a loaded index keeps growing
    assert loaded.search(x[0], 1)[0][0] in {"new", "p0"}
    index.save(path)  # overwrite in place
    assert len(VectorIndex.load(path)) == 1498


@pytest.mark.parametrize("content", [b"", b"garbage" * 10, b"PSVECIDX" + b"\xff" * 40], ids=["empty", "junk", "header"])
def test_corrupt_file_raises_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "vectors.idx"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="vector index") as caught:
        VectorIndex.load(path)
    assert_rebuild_hint(caught.value)


@pytest.mark.parametrize("exact_below", [0, 10**9], ids=["ann", "exact"])
def test_truncated_file_raises_a_clear_error(tmp_path: Path, exact_below: int) -> None:
    index = VectorIndex(DIM, exact_below=exact_below)
    index.add(ids_for(300), random_unit(300))
    path = tmp_path / "vectors.idx"
    index.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="vector index") as caught:
        VectorIndex.load(path)
    assert_rebuild_hint(caught.value)


def test_load_refuses_another_model_or_dimension(tmp_path: Path) -> None:
    index = VectorIndex(DIM, model="all-MiniLM-L6-v2/onnx-fp32@0.1.0")
    index.add(["a"], random_unit(1))
    path = tmp_path / "vectors.idx"
    index.save(path)
    assert len(VectorIndex.load(path, dim=DIM, model="all-MiniLM-L6-v2/onnx-fp32@0.1.0")) == 1
    with pytest.raises(StoreError, match=r"onnx-int8") as caught:
        VectorIndex.load(path, model="all-MiniLM-L6-v2/onnx-int8@0.1.0")
    assert_rebuild_hint(caught.value)
    with pytest.raises(StoreError, match="768"):
        VectorIndex.load(path, dim=768)


@pytest.mark.parametrize("exact_below", [0, 10**9], ids=["ann", "exact"])
def test_empty_index_round_trip(tmp_path: Path, exact_below: int) -> None:
    index = VectorIndex(DIM, exact_below=exact_below)
    index.add(["a"], random_unit(1))
    index.remove(["a"])
    index.save(tmp_path / "empty.idx")
    loaded = VectorIndex.load(tmp_path / "empty.idx")
    assert len(loaded) == 0 and loaded.search(random_unit(1)[0], 3) == []


def test_missing_file_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PaperscopeError, match="vector index") as caught:
        VectorIndex.load(tmp_path / "nope.idx")
    assert_rebuild_hint(caught.value)


def assert_rebuild_hint(error: PaperscopeError) -> None:
    """The error asks for a rebuild, and the command line names the command that does it."""
    assert error.fix is Fix.REBUILD_INDEX
    assert "paperscope index --rebuild" in cli_message(error)


def test_wrong_dimension_and_bad_input_are_refused() -> None:
    index = VectorIndex(DIM)
    with pytest.raises(ValueError, match="dimension"):
        index.add(["a"], random_unit(1, dim=DIM + 1))
    with pytest.raises(ValueError, match="ids"):
        index.add(["a", "b"], random_unit(1))
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.zeros(DIM + 1, dtype=np.float32), 3)
    with pytest.raises(ValueError):
        VectorIndex(0)


def test_vectors_are_normalised_and_copied() -> None:
    index = VectorIndex(DIM)
    raw = np.random.default_rng(0).standard_normal((2, DIM)) * 7  # float64, not unit length
    index.add(["a", "b"], raw)
    stored = index.vector("a")
    assert stored is not None and stored.dtype == np.float32
    assert np.linalg.norm(stored) == pytest.approx(1.0, abs=1e-5)
    stored[:] = 0  # a copy: the index is unchanged
    best = index.search(raw[0], 1)[0]
    assert best[0] == "a" and best[1] == pytest.approx(1.0, abs=1e-5)


def test_deterministic_given_the_same_inputs() -> None:
    x = random_unit(1500)
    queries = random_unit(20, seed=11)

    def build() -> list[list[tuple[str, float]]]:
        index = VectorIndex(DIM, exact_below=0)
        for start in range(0, 1500, 500):
            index.add(ids_for(1500)[start:start + 500], x[start:start + 500])
        return [index.search(q, 10) for q in queries]

    assert build() == build()


def test_model_metadata() -> None:
    index = VectorIndex(DIM, model="all-MiniLM-L6-v2@0.1.0")
    assert index.model == "all-MiniLM-L6-v2@0.1.0"
    assert VectorIndex(DIM).model is None


def test_retrains_when_grown_or_shrunk_by_the_factor() -> None:
    x = clustered_unit(9000, DIM, seed=14)
    ids = ids_for(len(x))
    index = VectorIndex(DIM, exact_below=500)
    index.add(ids[:499], x[:499])
    assert not index.uses_ann and index.trained_on == 0
    index.add(ids[499:1000], x[499:1000])
    assert index.uses_ann and index.trained_on == 1000
    first = index.nlist
    index.add(ids[1000:4000], x[1000:4000])  # 4x: not yet more than RETRAIN_FACTOR times
    assert index.trained_on == 1000 and index.nlist == first
    index.add(ids[4000:], x[4000:])  # past it: new centroids, more lists
    assert index.trained_on > RETRAIN_FACTOR * 1000 and index.nlist > first
    q = x[123]
    assert index.search(q, 1)[0][0] == "p123"
    assert len(set(brute_force(x, ids, q, 10)) & {i for i, _ in index.search(q, 10)}) >= 9
    index.remove(ids[:8000])  # to under a quarter of its training size: retrained smaller
    assert len(index) == 1000 and index.uses_ann and index.trained_on == 1000
    assert [i for i, _ in index.search(x[8500], 3)][0] == "p8500"
    index.remove(ids[7000:8800])  # under half of exact_below: back to the exact matrix
    assert not index.uses_ann and len(index) == 200
    assert [i for i, _ in index.search(x[8900], 200)] == brute_force(x[8800:], ids[8800:], x[8900], 200)


def test_retrain_keeps_results_and_freed_slots_are_reused(tmp_path: Path) -> None:
    x = embedding_like(3000, DIM, seed=16)
    ids = ids_for(len(x))
    index = VectorIndex(DIM, exact_below=0)
    index.add(ids, x)
    for round_ in range(5):  # churn: remove and add back a fifth at a time
        part = ids[round_ * 600:(round_ + 1) * 600]
        index.remove(part)
        index.add(part, x[round_ * 600:(round_ + 1) * 600])
    assert len(index) == 3000
    index.save(tmp_path / "v.idx")
    churned = (tmp_path / "v.idx").stat().st_size
    fresh = VectorIndex(DIM, exact_below=0)
    fresh.add(ids, x)
    fresh.save(tmp_path / "w.idx")
    assert churned <= (tmp_path / "w.idx").stat().st_size * 1.01  # no slots leaked
    q = x[100]
    before = index.search(q, 10)
    index.retrain()
    assert index.search(q, 10)[0] == before[0]
    assert len({i for i, _ in index.search(q, 10)} & {i for i, _ in before}) >= 9
    assert len(index) == 3000 and index.uses_ann


def test_a_bulk_load_in_sorted_order_is_trained_once_on_all_of_it() -> None:
    """Vectors that arrive grouped (as the store yields them, in id order) are trained on at the end, not
    on the first groups only."""
    x = clustered_unit(12_000, DIM, seed=17, clusters=24)
    order = np.argsort(np.argmax(x @ x[:24].T, axis=1), kind="stable")  # grouped by nearest of 24 anchors
    x = x[order]
    ids = ids_for(len(x))
    bulk = VectorIndex(DIM, exact_below=500)
    assert bulk.add_many((ids[i:i + 1000], x[i:i + 1000]) for i in range(0, len(x), 1000)) == 12_000
    assert bulk.uses_ann and bulk.trained_on == 12_000
    one_by_one = VectorIndex(DIM, exact_below=500)
    for i in range(0, len(x), 1000):
        one_by_one.add(ids[i:i + 1000], x[i:i + 1000])
    assert one_by_one.trained_on < 12_000  # the 4x rule retrained at 5,000 and then no more
    bulk.add_many([(["extra"], x[:1])])  # a small bulk call follows the usual rule
    assert bulk.trained_on == 12_000
    queries = clustered_unit(100, DIM, seed=18, clusters=24)
    hits = sum(len(set(brute_force(x, ids, q, 10)) & {i for i, _ in bulk.search(q, 10)}) for q in queries)
    assert hits / 1000 >= 0.95


@pytest.mark.parametrize(("given", "asleep"), [(None, True), ("ACTIVE", False)])
def test_faiss_threads_wait_asleep_unless_the_environment_says_otherwise(given: str | None, asleep: bool) -> None:
    # faiss's libgomp reads its settings once, when faiss is imported; OMP_DISPLAY_ENV makes it print what it got
    # (unset, it spins 300,000 times at each wait before sleeping; ACTIVE, without end).
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | {"OMP_DISPLAY_ENV": "VERBOSE"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    code = "from paperscope.index.vector_ivf import load_faiss; load_faiss()"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert ("GOMP_SPINCOUNT = '0'" in done.stderr) is asleep
