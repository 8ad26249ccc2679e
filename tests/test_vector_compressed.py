"""The compressed vector index: recall on real embeddings, filters, the delta, damaged files, shared pages.

Generations here are small (a few thousand vectors); the layout rules of large ones are the same code.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from paperscope.errors import StoreError
from paperscope.index.vector_compressed import CompressedVectorIndex
from paperscope.index.vector_generation import (
    CODE_BUDGET,
    TWO_LEVEL_LISTS,
    Generation,
    layout_for,
    write_generation,
)
from paperscope.index.vector_ivf import default_nlist
from paperscope.store import open_store

REPO = Path(__file__).resolve().parents[1]
WEB_DB = REPO / "bench" / ".cache" / "web-cs.db"
DIM = 384


def unit(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)  # type: ignore[no-any-return]


def embedding_like(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    basis = np.random.default_rng(100).standard_normal((24, dim))
    rng = np.random.default_rng(seed)
    return unit(rng.standard_normal((n, 24)) @ basis + rng.standard_normal((n, dim)) * 0.1)


def generation(folder: Path, x: np.ndarray, ids: list[str], layout: str | None = "SQ8",
               two_level_above: int = TWO_LEVEL_LISTS) -> Generation:
    batches = [(ids[s:s + 1000], x[s:s + 1000]) for s in range(0, len(ids), 1000)]
    return write_generation(folder / "v.manifest.json", batches, dim=x.shape[1], model="m", watermark=None,
                            layout=layout, two_level_above=two_level_above)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, list[str]]:
    folder = tmp_path_factory.mktemp("gen")
    x = embedding_like(3000)
    ids = [f"p{i}" for i in range(len(x))]
    generation(folder, x, ids)
    return folder / "v.manifest.json", x, ids


def exact(x: np.ndarray, ids: list[str], q: np.ndarray, k: int, keep: set[str] | None = None) -> list[str]:
    order = np.argsort(-(x @ q), kind="stable")
    return [ids[i] for i in order if keep is None or ids[i] in keep][:k]


# Two levels: the coarse centroids trained as large sets (about 1M vectors and more) train them, and the lists
# found through a graph over the centroids.
@pytest.mark.parametrize("two_level_above", [TWO_LEVEL_LISTS, 16], ids=["one level", "two levels"])
def test_recall_against_exact_on_real_embeddings_and_real_queries(tmp_path: Path, two_level_above: int) -> None:
    if not WEB_DB.exists():
        pytest.skip(f"{WEB_DB} not found: the real arXiv cs embeddings are cached there by "
                    "python bench/bench_web_load.py")
    with open_store(f"sqlite:///{WEB_DB}") as store:  # the store reads float16 and float32 rows alike
        all_ids, stored = store.load_embeddings("all-MiniLM-L6-v2/onnx-int8")
    ids = all_ids[:12_000]  # enough for product quantisation (PQ_MIN_VECTORS), few enough to train in a test
    x = unit(stored[:12_000])
    listing = sorted((REPO.parent / "shared" / "data" / "arxiv" / "cs").glob("*.jsonl"))
    if not listing:
        pytest.skip("shared arXiv cs listings not found beside the repository")
    from paperscope.embed import get_embedder

    embedder = get_embedder("minilm")
    sentences = [str(json.loads(line)["summary"]).split(". ")[0] for line in listing[0].open(encoding="utf-8")][:60]
    queries = unit(np.vstack([embedder.embed_query(s) for s in sentences]))
    assert layout_for(len(ids), DIM) == "PQ64x8np"
    index = CompressedVectorIndex(generation(tmp_path, x, ids, layout=None, two_level_above=two_level_above))
    assert "PQ64x8np" in index.describe()
    found = sum(len({pid for pid, _ in index.search(q, 10)} & set(exact(x, ids, q, 10))) for q in queries)
    assert found / (10 * len(queries)) >= 0.95
    hits = index.search(queries[0], 3)  # re-ranked: the scores are the cosines of the full vectors
    for pid, score in hits:
        assert score == pytest.approx(float(x[ids.index(pid)] @ queries[0]), abs=2e-3)


def test_two_level_training_finds_every_vector_and_its_neighbours(tmp_path: Path) -> None:
    x = embedding_like(4000, seed=3)
    ids = [f"p{i}" for i in range(len(x))]
    index = CompressedVectorIndex(generation(tmp_path, x, ids, layout="PQ48x8np", two_level_above=16))
    assert "IVF102," in index.describe()  # 102 lists: more than 16, so trained in two levels
    probe = np.random.default_rng(5).choice(len(x), 100, replace=False)
    assert all(index.search(x[i], 1)[0][0] == ids[i] for i in probe)
    queries = unit(x[probe] + np.random.default_rng(6).standard_normal(x[probe].shape) * 0.05)
    found = sum(len({pid for pid, _ in index.search(q, 10)} & set(exact(x, ids, q, 10))) for q in queries)
    assert found / (10 * len(queries)) >= 0.95


def test_results_ids_and_vectors_come_from_the_mapped_files(small: tuple[Path, np.ndarray, list[str]]) -> None:
    manifest, x, ids = small
    index = CompressedVectorIndex(Generation(manifest))
    assert len(index) == len(ids) and "p5" in index and "nope" not in index
    assert index.search(x[5], 1)[0][0] == "p5"
    np.testing.assert_allclose(index.vector("p7"), x[7], atol=1e-3)  # type: ignore[arg-type]
    assert index.vector("nope") is None
    assert sorted(index.ids()) == sorted(ids)


def test_a_query_scans_its_nearest_lists_up_to_the_codes_of_nprobe_average_ones(
        small: tuple[Path, np.ndarray, list[str]]) -> None:
    """The lists a query scans are a prefix of its nprobe nearest; their codes stay within CODE_BUDGET times what
    nprobe lists of average size hold, unless the nearest list alone holds more; a query in sparse lists scans all
    nprobe."""
    manifest, x, _ = small
    base = Generation(manifest)
    nprobe = 8
    budget = CODE_BUDGET * nprobe * base.count / len(base.list_sizes)
    cut = 0
    for q in x[:200]:
        lists, _ = base.lists_to_scan(np.ascontiguousarray(q[None, :]), nprobe)
        _, nearest = base.ivf.quantizer.search(np.ascontiguousarray(q[None, :]), nprobe)
        scanned = lists[0][lists[0] >= 0]
        assert list(scanned) == list(nearest[0][:len(scanned)]) and (lists[0][len(scanned):] == -1).all()
        assert len(scanned) == 1 or base.list_sizes[scanned].sum() <= budget
        if len(scanned) < nprobe:
            cut += 1
            assert base.list_sizes[nearest[0][:len(scanned) + 1]].sum() > budget  # cut only where it must be
    assert 0 < cut < 200  # crowded lists are cut short, sparse ones not


@pytest.mark.parametrize("exact_allowed", [20_000, 0], ids=["scored exactly", "through faiss"])
def test_allowed_filters(small: tuple[Path, np.ndarray, list[str]], exact_allowed: int) -> None:
    manifest, x, ids = small
    index = CompressedVectorIndex(Generation(manifest), exact_allowed=exact_allowed)
    keep = set(ids[::3]) | {"not-stored"}
    q = unit(x[10:11] + x[11:12])[0]
    hits = index.search(q, 10, allowed=keep)
    assert hits and all(pid in keep for pid, _ in hits)
    overlap = len({pid for pid, _ in hits} & set(exact(x, ids, q, 10, keep)))
    assert overlap >= (10 if exact_allowed else 8)
    assert index.search(q, 10, allowed={"not-stored"}) == []


def test_the_delta_overrides_the_generation(small: tuple[Path, np.ndarray, list[str]]) -> None:
    manifest, x, ids = small
    index = CompressedVectorIndex(Generation(manifest))
    index.add(["p5", "new1"], np.vstack([x[900], x[901]]))  # p5 re-embedded, new1 added
    hits = index.search(x[900], 5)
    assert [pid for pid, _ in hits].count("p5") == 1 and {"p5", "p900"} <= {pid for pid, _ in hits[:3]}
    assert "p5" not in [pid for pid, _ in index.search(x[5], 5)]  # its old vector is masked
    np.testing.assert_allclose(index.vector("p5"), x[900], atol=1e-6)  # type: ignore[arg-type]
    assert len(index) == len(ids) + 1
    index.remove(["p6", "new1"])
    assert "p6" not in [pid for pid, _ in index.search(x[6], 5)]
    assert "p6" not in index and index.vector("p6") is None and len(index) == len(ids) - 1
    assert {pid for pid, _ in index.search(x[5], 5, allowed={"p5", "p6", "p7"})} == {"p5", "p7"}
    assert "p6" not in {pid for pid, _ in index.search(x[6], 5, allowed={"p5", "p6", "p7"})}


@pytest.mark.parametrize("part", ["rows.f16", "codes.faiss", "ids.npy", "order.npy"])
def test_a_truncated_file_is_a_store_error_naming_it(tmp_path: Path, part: str) -> None:
    x = embedding_like(1200)
    gen = generation(tmp_path, x, [f"p{i}" for i in range(len(x))])
    damaged = gen.paths[part]
    del gen
    damaged.write_bytes(damaged.read_bytes()[:-100])
    with pytest.raises(StoreError, match=str(damaged).replace(".", r"\.") + ".*truncated"):
        Generation(tmp_path / "v.manifest.json")


def test_damaged_contents_are_a_store_error_naming_the_file(tmp_path: Path) -> None:
    x = embedding_like(1200)
    gen = generation(tmp_path, x, [f"p{i}" for i in range(len(x))])
    codes, ids = gen.paths["codes.faiss"], gen.paths["ids.npy"]
    del gen
    codes.write_bytes(b"\x00" * codes.stat().st_size)
    with pytest.raises(StoreError, match=f"{codes.name}.*damaged"):
        Generation(tmp_path / "v.manifest.json")
    (tmp_path / "v.manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreError, match="manifest.*damaged"):
        Generation(tmp_path / "v.manifest.json")
    assert ids.exists()


def test_a_new_generation_replaces_the_files_of_the_old(tmp_path: Path) -> None:
    x = embedding_like(1500)
    ids = [f"p{i}" for i in range(len(x))]
    first = generation(tmp_path, x[:1000], ids[:1000])
    old_files = first.files()
    index = CompressedVectorIndex(first)
    second = generation(tmp_path, x, ids)
    assert second.number == first.number + 1 and not any(path.exists() for path in old_files)
    assert index.search(x[3], 1)[0][0] == "p3"  # a reader still mapping the old generation keeps working
    assert CompressedVectorIndex(Generation(tmp_path / "v.manifest.json")).search(x[1400], 1)[0][0] == "p1400"


def test_a_new_generation_keeps_the_coarse_lists_of_the_old(tmp_path: Path) -> None:
    x = embedding_like(4000, seed=7)
    ids = [f"p{i}" for i in range(len(x))]
    first = generation(tmp_path, x[:3500], ids[:3500])
    centroids, lists = first.centroids(), first.lists()
    del first
    kept = list(range(200, 4000))  # 200 removed, 500 new
    second = generation(tmp_path, x[kept], [ids[i] for i in kept])
    np.testing.assert_array_equal(second.centroids(), centroids)
    slots = second.slots_of([ids[i] for i in range(200, 3500)])
    np.testing.assert_array_equal(second.lists()[slots], lists[200:3500])  # each old vector in its list
    index = CompressedVectorIndex(second)
    assert all(index.search(x[i], 1)[0][0] == ids[i] for i in range(3500, 4000, 10))  # new ones found
    queries = unit(x[3500:3600] + np.random.default_rng(8).standard_normal((100, DIM)) * 0.05)
    keep = [ids[i] for i in kept]
    found = sum(len({pid for pid, _ in index.search(q, 10)} & set(exact(x[kept], keep, q, 10))) for q in queries)
    assert found / 1000 >= 0.95
    del index, second
    grown = generation(tmp_path, embedding_like(20_000, seed=9), [f"q{i}" for i in range(20_000)])
    assert len(grown.centroids()) == default_nlist(20_000) != len(centroids)  # 5x the vectors: lists trained anew


def test_re_ranking_reads_rows_and_ids_without_mapping_them(tmp_path: Path) -> None:
    # A search re-ranks its candidates from rows read with pread, and names its results from ids read so: a page
    # fault on a mapped file maps 16 cached neighbouring pages too, so every row or id read through the mapping
    # would add 64 KiB to the process's RSS.
    x = embedding_like(40_000, seed=3)
    generation(tmp_path, x, [f"p{i}" for i in range(len(x))])
    code = textwrap.dedent("""
        import sys
        from pathlib import Path
        import numpy as np
        from paperscope.index.vector_compressed import CompressedVectorIndex
        from paperscope.index.vector_generation import Generation

        index = CompressedVectorIndex(Generation(Path(sys.argv[1])))
        for q in np.random.default_rng(1).standard_normal((200, 384)).astype(np.float32):
            assert index.search(q, 10)
        rss, mapping = 0, ""
        for line in Path("/proc/self/smaps").read_text().splitlines():
            if "-" in line.split()[0] and len(line.split()) >= 5:  # a mapping's header; the 6th field: its file
                mapping = line.split()[5] if len(line.split()) > 5 else ""
            elif line.startswith("Rss:") and mapping.endswith((".rows.f16", ".ids.npy")):
                rss += int(line.split()[1])
        print(rss)
    """)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "v.manifest.json")], capture_output=True,
                          text=True, check=True)
    assert int(done.stdout) == 0, done.stdout  # 200 searches x RERANK re-ranked rows: none through the mappings


READER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import numpy as np
    from paperscope.index.vector_compressed import CompressedVectorIndex
    from paperscope.index.vector_generation import Generation

    def memory():
        out = {}
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
            name, value, *_ = line.split()
            out[name.rstrip(":")] = int(value)
        return out

    start = memory()
    index = CompressedVectorIndex(Generation(Path(sys.argv[1])))
    rows = index.base.rows
    touched = float(np.asarray(rows[:], dtype=np.float32).sum())  # every page of the full vectors
    for q in np.asarray(rows[:200], dtype=np.float32):
        index.search(q, 10)
    end = memory()
    print(json.dumps({k: end[k] - start[k] for k in end}), flush=True)
    sys.stdin.readline()
""")


def test_two_processes_share_the_mapped_pages(tmp_path: Path) -> None:
    x = embedding_like(40_000, seed=3)
    gen = generation(tmp_path, x, [f"p{i}" for i in range(len(x))])
    mapped_kib = sum(path.stat().st_size for path in gen.files()) // 1024
    del gen
    command = [sys.executable, "-c", READER, str(tmp_path / "v.manifest.json")]
    first = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    second = None
    try:
        assert first.stdout is not None and first.stdin is not None
        one = json.loads(first.stdout.readline())
        second = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert second.stdout is not None and second.stdin is not None
        two = json.loads(second.stdout.readline())
    finally:
        for process in (first, second):
            if process is not None:
                process.communicate("\n", timeout=60)
    assert one["Rss"] > 0.5 * mapped_kib  # the first reader touched the files...
    assert two["Rss"] > 0.5 * mapped_kib  # ...and so did the second, but its pages are the first's:
    private = two["Private_Clean"] + two["Private_Dirty"]
    assert private < 0.25 * mapped_kib, two
    assert two["Pss"] < 0.75 * two["Rss"], two
