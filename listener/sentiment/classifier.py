"""Classify texts as negative / neutral / positive with a transformers model, fast on a small CPU.

The model is a setting (``sentiment.model``): ``"default"`` (Harken's own offline
model, see :mod:`listener.sentiment.default_model`), a local model directory, or a
Hugging Face hub id. A directory holding an ``.onnx`` file runs on ONNX Runtime;
anything else runs on torch through transformers, on the GPU when there is one.

Why it is fast: texts are tokenised in one call, sorted by token length and
batched, so a batch pads only to its own longest text, then the outputs go back
into input order. On TweetEval (30 tokens a tweet on average) random batches of
32 would run 1.63 times the real tokens, sorted ones 1.01 times; the base
model's ``tokenizer.json`` even asks for padding every text to 128 tokens, which
is switched off here. On ONNX Runtime each batch runs on one core and
``threads`` batches run at once (see :class:`_OnnxBackend`). Identical texts
(retweets) are run once.

Why ONNX directories load without optimum: the directory is exactly what
optimum's ``ORTModelForSequenceClassification`` loads (config, tokenizer files,
``model.onnx``), but going through it imports torch and transformers, which took
6.5 s of CPU and 550 MB of memory here, against 0.4 s and 105 MB for
``onnxruntime`` and the model's fast tokenizer (``tokenizer.json``, run by the
``tokenizers`` library that transformers' fast tokenizers wrap). optimum adds
nothing else on this path: numpy in, logits out, one CPU session.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np

from listener.sentiment.errors import ModelLoadError
from listener.sentiment.labels import LABELS
from listener.sentiment.model_names import DEFAULT_MODEL, looks_like_path
from listener.sentiment.text import normalise_for_model

log = logging.getLogger(__name__)

SETTING = "sentiment.model"
MEAN_POOLING_ARCHITECTURE = "MeanPoolingBertClassifier"
LABEL_ALIASES: dict[str, str] = {"neg": "negative", "neu": "neutral", "pos": "positive"}
"""Short names some published sentiment models use; anything else needs ``label_map``."""
_CHARS_PER_TOKEN_CAP = 50
"""Texts are cut to ``max_length * 50`` characters before tokenising: no tokenizer
needs that many characters for ``max_length`` tokens, and a 10 MB post then costs
no more than a tweet."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float


class _Backend(Protocol):
    workers: int

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


class _OnnxBackend:
    """An ONNX Runtime CPU session.

    By default each run uses one thread and ``threads`` batches run at once (ONNX
    Runtime releases the GIL, and one session may run from several threads). For
    a model this small, a batch of tweets is too little work per operator to
    split well: intra-op threads synchronise at every operator, hundreds of times
    per batch, while independent batches never wait for each other. With
    ``parallel_batches=False`` batches run one at a time, each over ``threads``
    intra-op threads.
    """

    def __init__(self, path: Path, threads: int, parallel_batches: bool = True) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = 1 if parallel_batches else max(1, threads)
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.workers = max(1, threads) if parallel_batches else 1
        self._input_names = {item.name for item in self.session.get_inputs()}

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        feed = {name: value for name, value in feed.items() if name in self._input_names}
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)


class _TorchBackend:
    """A transformers model in torch; batches run one after another, torch spreads each over its threads."""

    def __init__(self, model: Any, device: str) -> None:
        import torch

        self._torch = torch
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.workers = 1

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            output = self.model(
                input_ids=torch.from_numpy(input_ids).to(self.device),
                attention_mask=torch.from_numpy(attention_mask).to(self.device),
            )
            return output.logits.float().cpu().numpy()


class _Tokenizer:
    """Token ids without padding, truncated to ``max_length``, from the model's own tokenizer.

    A fast tokenizer (``tokenizers.Tokenizer``, or the one inside a transformers
    fast tokenizer) is set up once; changing its truncation per call would cost
    time and is not safe while another thread encodes. Slow transformers
    tokenizers are called the ordinary way.
    """

    def __init__(self, tokenizer: Any, max_length: int, pad_id: int | None = None) -> None:
        from tokenizers import Tokenizer

        self.max_length = max_length
        self._transformers = None
        if isinstance(tokenizer, Tokenizer):
            self._fast: Tokenizer | None = tokenizer
        elif getattr(tokenizer, "is_fast", False):
            self._fast = tokenizer.backend_tokenizer
        else:
            self._fast, self._transformers = None, tokenizer
        if self._fast is not None:
            self._fast.no_padding()
            self._fast.enable_truncation(max_length)
        if pad_id is None:
            pad_id = getattr(tokenizer, "pad_token_id", None)
        self.pad_id = int(pad_id or 0)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> list[list[int]]:
        with self._lock:
            if self._fast is not None:
                return [encoding.ids for encoding in self._fast.encode_batch(texts)]
            assert self._transformers is not None
            return self._transformers(texts, truncation=True, max_length=self.max_length)["input_ids"]


class SentimentClassifier:
    """A loaded model plus what is needed to run it on raw texts; make one with :func:`load_classifier`.

    ``classify`` may be called from several threads at once.
    """

    def __init__(
        self,
        *,
        name: str,
        version: str,
        backend: _Backend,
        tokenizer: _Tokenizer,
        model_labels: Sequence[str],
        languages: Iterable[str] = ("en",),
        normalise: bool = False,
        batch_size: int = 32,
    ) -> None:
        self.name = name
        self.version = version
        self.languages: frozenset[str] = frozenset(languages)
        self.normalise = normalise
        self.batch_size = max(1, batch_size)
        self.max_length = tokenizer.max_length
        self.backend = backend
        self.tokenizer = tokenizer
        # model output i -> Harken label column; several outputs may share a label
        # (a 5-star model), and their probabilities are then added up
        self._projection = np.zeros((len(model_labels), len(LABELS)), dtype=np.float32)
        for i, label in enumerate(model_labels):
            self._projection[i, LABELS.index(label)] = 1.0
        self._pool = ThreadPoolExecutor(backend.workers, "sentiment") if backend.workers > 1 else None

    def __repr__(self) -> str:
        return f"SentimentClassifier(name={self.name!r}, version={self.version!r})"

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        """One prediction per text, in input order. Any string is accepted, empty or huge."""
        if not texts:
            return []
        probabilities = self.probabilities(texts)
        best = probabilities.argmax(axis=1)
        return [
            Prediction(LABELS[int(column)], float(probabilities[row, column]))
            for row, column in enumerate(best)
        ]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities over :data:`LABELS`, one row per text in input order."""
        cap = self.max_length * _CHARS_PER_TOKEN_CAP
        prepared = [text[:cap] for text in texts]
        if self.normalise:
            prepared = [normalise_for_model(text) for text in prepared]
        # retweets and copy-paste campaigns repeat texts word for word: run each once
        slots: dict[str, int] = {}
        slot_of = [slots.setdefault(text, len(slots)) for text in prepared]
        unique = self._probabilities_of_unique(list(slots))
        return unique[slot_of] if len(slots) < len(prepared) else unique

    def _probabilities_of_unique(self, prepared: list[str]) -> np.ndarray:
        ids = self.tokenizer.encode(prepared)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        if self._pool is not None and len(batches) > 1:
            results = list(self._pool.map(lambda batch: self._run(ids, batch), batches))
        else:
            results = [self._run(ids, batch) for batch in batches]
        logits = np.empty((len(ids), self._projection.shape[0]), dtype=np.float32)
        for batch, batch_logits in zip(batches, results, strict=True):
            logits[batch] = batch_logits
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits @ self._projection

    def _run(self, ids: list[list[int]], batch: list[int]) -> np.ndarray:
        width = max(len(ids[i]) for i in batch)
        input_ids = np.full((len(batch), width), self.tokenizer.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, i in enumerate(batch):
            n = len(ids[i])
            input_ids[row, :n] = ids[i]
            mask[row, :n] = 1
        return self.backend.logits(input_ids, mask)


def load_classifier(
    model: str = DEFAULT_MODEL,
    *,
    label_map: Mapping[str, str] | None = None,
    device: str = "auto",
    batch_size: int = 32,
    max_length: int = 128,
    threads: int | None = None,
    languages: Iterable[str] = ("en",),
    parallel_batches: bool = True,
    setting: str = SETTING,
) -> SentimentClassifier:
    """Load the model that the ``sentiment.model`` setting names; :class:`ModelLoadError` when that fails.

    ``label_map`` renames the model's labels (compared lower-cased), e.g.
    ``{"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}``.
    ``threads`` defaults to the cores this process may use. ``languages`` are the
    ISO 639-1 codes the model covers. ``parallel_batches`` picks how ONNX models
    use their threads (see :class:`_OnnxBackend`). ONNX models always run on the
    CPU; ``device`` applies to torch models. ``setting`` is the setting that
    named the model (a per-language model's is ``sentiment.models.<code>``), so
    that an error points at the line to fix.
    """
    name, version_hint = model, None
    if model == DEFAULT_MODEL:
        from listener.sentiment.default_model import DefaultModelError, default_model_path

        try:
            directory: Path | None = default_model_path()
        except DefaultModelError as exc:
            raise ModelLoadError(f"{setting}: {model!r}: {_one_line(exc)}") from exc
    else:
        directory = _local_directory(model, setting)

    if directory is not None and any(directory.glob("*.onnx")):
        backend, config, raw_tokenizer = _load_onnx(
            model, directory, threads or _available_cores(), parallel_batches, setting
        )
    else:
        source = str(directory) if directory is not None else model
        backend, config, raw_tokenizer = _load_torch(model, source, directory is None, device, threads, setting)
        if directory is None:
            version_hint = getattr(config, "_commit_hash", None)

    labels = _model_labels(model, config, label_map, setting)
    version = getattr(config, "_harken_version", None) or version_hint
    if not version and directory is not None:
        version = _weights_hash(directory)
    # the config's pad id is the one the model itself checks (RoBERTa derives positions from it)
    pad_id = getattr(config, "pad_token_id", None)
    tokenizer = _Tokenizer(raw_tokenizer, _usable_max_length(max_length, raw_tokenizer, config), pad_id)
    return SentimentClassifier(
        name=name,
        version=str(version or "unknown"),
        backend=backend,
        tokenizer=tokenizer,
        model_labels=labels,
        languages=languages,
        normalise=bool(getattr(config, "harken_normalise", False)),
        batch_size=batch_size,
    )


@functools.lru_cache(maxsize=4)
def _cached_classifier(
    model: str,
    label_map: tuple[tuple[str, str], ...],
    device: str,
    batch_size: int,
    max_length: int,
    threads: int | None,
    languages: tuple[str, ...],
    setting: str,
) -> SentimentClassifier:
    return load_classifier(
        model,
        label_map=dict(label_map) or None,
        device=device,
        batch_size=batch_size,
        max_length=max_length,
        threads=threads,
        languages=languages,
        setting=setting,
    )


def get_classifier(
    model: str = DEFAULT_MODEL,
    *,
    label_map: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    device: str = "auto",
    batch_size: int = 32,
    max_length: int = 128,
    threads: int | None = None,
    languages: Iterable[str] = ("en",),
    setting: str = SETTING,
) -> SentimentClassifier:
    """:func:`load_classifier`, once per process for the same settings: loading takes seconds.

    ``label_map`` may be a mapping or its items (settings objects often hold a
    tuple of pairs, which is hashable).
    """
    return _cached_classifier(
        model,
        tuple(sorted(dict(label_map or {}).items())),
        device,
        batch_size,
        max_length,
        threads,
        tuple(sorted(set(languages))),
        setting,
    )


def clear_classifier_cache() -> None:
    """Forget loaded classifiers, e.g. after the model setting changed."""
    _cached_classifier.cache_clear()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _local_directory(model: str, setting: str = SETTING) -> Path | None:
    """The directory ``model`` names, ``None`` for a hub id; a path that is no directory fails here."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if looks_like_path(model) or path.exists():
        raise ModelLoadError(f"{setting}: {model!r} is neither a local model directory nor a Hugging Face hub id")
    return None


def _hub_offline() -> bool:
    """Offline when the environment says so, or when the hub's host cannot be reached within a second or two.

    Without the probe, transformers would retry the hub for tens of seconds on a
    machine with no network before looking in its cache.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or os.environ.get("TRANSFORMERS_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return True
    return not _hub_reachable(constants.ENDPOINT)


@functools.lru_cache(maxsize=1)
def _hub_reachable(endpoint: str) -> bool:
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # a direct probe says nothing about a proxy; let the hub client try
    url = urlparse(endpoint)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", url.port or 443), timeout=1.5):
            return True
    except OSError:
        return False


def _onnx_file(model: str, directory: Path, setting: str) -> Path:
    """``model.onnx`` (optimum's standard name) or the directory's only ``.onnx`` file."""
    files = sorted(directory.glob("*.onnx"))
    if (directory / "model.onnx").is_file():
        return directory / "model.onnx"
    if len(files) == 1:
        return files[0]
    raise ModelLoadError(
        f"{setting}: {model!r} holds several ONNX files ({', '.join(f.name for f in files)}) "
        "and none is model.onnx; keep the one to use"
    )


def _load_onnx(
    model: str, directory: Path, threads: int, parallel_batches: bool, setting: str
) -> tuple[_Backend, Any, Any]:
    from tokenizers import Tokenizer

    path = _onnx_file(model, directory, setting)
    try:
        raw = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        tokenizer_config = directory / "tokenizer_config.json"
        if tokenizer_config.is_file():
            limit = json.loads(tokenizer_config.read_text(encoding="utf-8")).get("model_max_length")
            raw.setdefault("_tokenizer_max_length", limit)
        config = SimpleNamespace(**raw)
        if (directory / "tokenizer.json").is_file():
            tokenizer: Any = Tokenizer.from_file(str(directory / "tokenizer.json"))
        else:  # no fast tokenizer file: let transformers build one from the vocabulary
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
        backend = _OnnxBackend(path, threads, parallel_batches)
    except Exception as exc:
        raise ModelLoadError(
            f"{setting}: {model!r}: cannot load the ONNX model in {directory}: {_one_line(exc)}"
        ) from exc
    return backend, config, tokenizer


def _load_torch(
    model: str, source: str, from_hub: bool, device: str, threads: int | None, setting: str
) -> tuple[_Backend, Any, Any]:
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    offline = from_hub and _hub_offline()
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=offline)
        architectures = getattr(config, "architectures", None) or []
        if MEAN_POOLING_ARCHITECTURE in architectures:
            from listener.sentiment.modeling import MeanPoolingBertClassifier

            network = MeanPoolingBertClassifier.from_pretrained(source, local_files_only=offline)
        else:
            network = AutoModelForSequenceClassification.from_pretrained(source, local_files_only=offline)
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=offline)
    except Exception as exc:
        if from_hub:
            where = "reachable on the Hugging Face hub (offline)" if offline else "loadable from the hub"
            raise ModelLoadError(
                f"{setting}: {model!r} is neither a local model directory nor {where}: {_one_line(exc)}"
            ) from exc
        raise ModelLoadError(
            f"{setting}: {model!r}: cannot load a transformers model from it: {_one_line(exc)}"
        ) from exc
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and threads:
        torch.set_num_threads(threads)
    try:
        backend = _TorchBackend(network, device)
    except (RuntimeError, AssertionError) as exc:
        raise ModelLoadError(f"{setting}: {model!r}: cannot use device {device!r}: {_one_line(exc)}") from exc
    return backend, config, tokenizer


def _model_labels(model: str, config: Any, label_map: Mapping[str, str] | None, setting: str) -> list[str]:
    """The model's output names as Harken labels; unknown names fail at load, not at the first mention."""
    id2label = getattr(config, "id2label", None) or {}
    num_labels = int(getattr(config, "num_labels", None) or len(id2label))
    mapping = {key.lower(): value.lower() for key, value in (label_map or {}).items()}
    labels: list[str] = []
    for index in range(num_labels):
        raw = str(id2label.get(index, id2label.get(str(index), f"LABEL_{index}"))).lower()
        label = mapping.get(raw, LABEL_ALIASES.get(raw, raw))
        if label not in LABELS:
            named = f"labelled {raw!r}" + (f" (mapped to {label!r})" if label != raw else "")
            raise ModelLoadError(
                f"{setting}: {model!r}: output {index} is {named}, not one of {', '.join(LABELS)}; "
                f"map it with {_label_map_setting(setting)}"
            )
        labels.append(label)
    if not labels:
        raise ModelLoadError(f"{setting}: {model!r}: the model's config names no labels")
    return labels


def _label_map_setting(setting: str) -> str:
    """Where the label map of the model that ``setting`` names goes."""
    return "sentiment.label_map" if setting == SETTING else f"{setting}.label_map"


def _usable_max_length(max_length: int, tokenizer: Any, config: Any) -> int:
    """The setting, capped by what the tokenizer and the position embeddings allow."""
    limits = [max_length]
    for model_max in (getattr(tokenizer, "model_max_length", None), getattr(config, "_tokenizer_max_length", None)):
        if isinstance(model_max, int) and 0 < model_max < 100_000:
            limits.append(model_max)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        # RoBERTa-style models spend two positions on the padding offset
        roberta_like = getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}
        limits.append(positions - 2 if roberta_like else positions)
    return min(limits)


def _weights_hash(directory: Path) -> str | None:
    """A short hash of the weights file, so predictions can say exactly which model made them."""
    for pattern in ("model.onnx", "*.onnx", "model.safetensors", "*.safetensors", "pytorch_model.bin"):
        for path in sorted(directory.glob(pattern)):
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()[:12]
    return None
