"""Any sentence-transformers model on this machine (spec `st:PATH_OR_NAME`), run by torch, on the GPU if there is one.

The model must already be here: a local folder (a `SentenceTransformer.save()` output or a copied model
repository) or a name already in the Hugging Face cache. paperscope never downloads weights while it runs,
so a name that is not cached gives `ModelNotAvailableError` at once, not a minute of network retries.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paperscope.errors import ModelNotAvailableError, require_extra

_PURPOSE = "Embedding with a sentence-transformers model"
_FINGERPRINTED = ("config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
                  "tokenizer_config.json")

log = logging.getLogger(__name__)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars for the duration of the block."""
    try:
        transformers = require_extra("transformers", "model", _PURPOSE)
    except Exception:  # pragma: no cover - then there is nothing to silence either
        yield
        return
    verbosity = transformers.logging.get_verbosity()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()


def default_device() -> str:
    """"cuda" when torch sees a GPU, else "cpu"."""
    torch = require_extra("torch", "model", _PURPOSE)
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_model(model: str) -> tuple[Path, str]:
    """The local folder of `model` (a path, or a name in the Hugging Face cache) and a version for its vectors.

    Raises ModelNotAvailableError, saying how to make the model available, when it is not on this machine.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve(), f"local-{fingerprint(path)}"
    how = ("paperscope does not download models while it runs. Pass the folder of a model that is on this "
           "machine, e.g. st:/path/to/model (on a machine with network: "
           "SentenceTransformer(NAME).save('/path/to/model')), or use an embedder that ships in a package "
           "(minilm).")
    if path.exists() or model.startswith((".", "/", "~", "\\")) or path.is_absolute() or model.count("/") > 1:
        raise ModelNotAvailableError(f"The sentence-transformers model folder {model!r} does not exist or is not "
                                     f"a folder. {how}")
    try:
        hub = require_extra("huggingface_hub", "model", _PURPOSE)
        folder = Path(hub.snapshot_download(model, local_files_only=True))
    except Exception as exc:
        raise ModelNotAvailableError(f"The sentence-transformers model {model!r} is not available locally "
                                     f"(not a folder, not in the Hugging Face cache). {how}") from exc
    return folder, f"hf-{folder.name[:12]}"


def fingerprint(folder: Path) -> str:
    """A short hash of a model folder: its file names and sizes and the text of its small config files."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts):
        relative = file.relative_to(folder).as_posix()
        digest.update(f"{relative}\0{file.stat().st_size}\0".encode())
        if file.name in _FINGERPRINTED:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder or the local Hugging Face cache.

    `name` defaults to "st:" plus the name or folder name given, `version` to a fingerprint of the files
    (a Hugging Face snapshot's commit for a cached name). Vectors are L2-normalised float32.
    Picklable: the model is loaded again from its folder after unpickling.
    """

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 32, name: str | None = None,
                 version: str | None = None) -> None:
        folder, found_version = resolve_model(model)  # first: a missing model fails fast, before the big import
        self.folder = folder
        self.device = device or default_device()
        self.batch_size = batch_size
        self.name = name or f"st:{model if not Path(model).expanduser().is_dir() else folder.name}"
        self.version = version or found_version
        self._model: Any = self._load()
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())

    def _load(self) -> Any:
        sentence_transformers = require_extra("sentence_transformers", "model", _PURPOSE)
        try:
            with quiet_transformers():
                model = sentence_transformers.SentenceTransformer(str(self.folder), device=self.device,
                                                                  local_files_only=True)
        except Exception as exc:
            raise ModelNotAvailableError(f"Cannot load the sentence-transformers model in {self.folder}: {exc}. "
                                         "Check that the folder holds a complete model (modules.json, "
                                         "config.json, the weights).") from exc
        model.eval()
        return model

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._model = self._load()

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]
        return vector

