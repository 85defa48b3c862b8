"""Refit a fine-tuned model's classification head on frozen encoder features, with brand-directed tweets too.

Fine-tuning the encoder costs minutes an epoch; the head (one linear layer on the
mean-pooled token vectors) refits in seconds once every tweet is embedded. That
makes the cheap levers measurable on every held-out set: how much the loss
weights rare classes, and how much labelled brand mentions (``extra`` sets, e.g.
the Sanders brand tweets) count beside the TweetEval training tweets.

A head fitted on part of an extra set is only judged on the rest of it: the set
is split into ``folds`` folds fixed by ``seed``, a head is fitted without each
fold and predicts it, so every tweet of the set gets an out-of-fold prediction.
The head that ships is then fitted on all of it, with the same options.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from listener.sentiment.errors import SentimentError
from listener.sentiment.metrics import score
from listener.sentiment.text import normalise_for_model

CLASS_WEIGHTINGS = ("inverse", "sqrt", "none")


class HeadFitError(SentimentError, ValueError):
    """The options or the labelled sets cannot give a head (an unknown weighting, too few texts for the folds)."""


@dataclass
class HeadOptions:
    # How the loss weights each class by its frequency in the training tweets: "inverse"
    # (each class counts as much in total, what `train` uses), "sqrt" (half way, in log
    # odds) or "none" (the classes as they come).
    class_weighting: str = "inverse"
    # Each extra-set tweet counts this many times as much as a training tweet.
    extra_weight: float = 1.0
    # L2 penalty on how far the head's weights move from the model's own head (where the fit
    # starts): the head learns brand mentions without forgetting what fine-tuning taught it.
    l2: float = 1e-4
    # Embed only this many training tweets (a sample fixed by ``seed``; None: all). The encoder
    # is frozen, so a sample anchors the head nearly as well at a fraction of the embedding time.
    train_sample: int | None = None
    max_iterations: int = 300
    folds: int = 5
    seed: int = 0


@dataclass
class LabelledFeatures:
    """One labelled set, embedded: its name, pooled vectors (n x hidden) and gold class ids."""

    name: str
    features: np.ndarray
    labels: np.ndarray


def embed(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 128, batch_size: int = 64,
          normalise: bool = True) -> np.ndarray:
    """The mean-pooled vectors the model's head sees, one row per text, in float32.

    ``tokenizer`` is a ``tokenizers.Tokenizer``; texts are sorted by length so
    batches pad little.
    """
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    prepared = [normalise_for_model(text) if normalise else text for text in texts]
    ids = [encoding.ids for encoding in tokenizer.encode_batch(prepared)]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    pooled = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    model = model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(ids[i]) for i in batch)
            input_ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros_like(input_ids)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                mask[row, : len(ids[i])] = 1
            hidden = model.bert(input_ids=input_ids, attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled[batch] = ((hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)).numpy()
    return pooled


def class_weights(labels: np.ndarray, weighting: str) -> np.ndarray:
    """Per-class loss weights from the class counts in ``labels``, mean 1 over the classes."""
    if weighting not in CLASS_WEIGHTINGS:
        raise HeadFitError(f"class weighting {weighting!r} is not one of {', '.join(CLASS_WEIGHTINGS)}")
    counts = np.bincount(labels, minlength=3).astype(np.float64)
    inverse = counts.sum() / (3 * np.maximum(counts, 1))
    return {"inverse": inverse, "sqrt": np.sqrt(inverse), "none": np.ones(3)}[weighting]


def fit_head(
    train: LabelledFeatures,
    extras: Sequence[LabelledFeatures],
    options: HeadOptions,
    initial: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """A linear head (weight 3 x hidden, bias 3) fitted by L-BFGS on the training and extra features.

    Class weights come from the training tweets' counts only, so adding brand
    mentions (mostly neutral) does not by itself change how classes are weighted.
    """
    features = np.vstack([train.features, *(extra.features for extra in extras)])
    labels = np.concatenate([train.labels, *(extra.labels for extra in extras)])
    sample = np.concatenate([np.ones(len(train.labels)),
                             *(np.full(len(extra.labels), options.extra_weight) for extra in extras)])
    weight_of_class = torch.tensor(class_weights(train.labels, options.class_weighting), dtype=torch.float32)
    x, y = torch.from_numpy(features), torch.from_numpy(labels).long()
    per_example = torch.tensor(sample, dtype=torch.float32) * weight_of_class[y]
    head = nn.Linear(features.shape[1], 3)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(np.asarray(initial[0], dtype=np.float32)))
        head.bias.copy_(torch.from_numpy(np.asarray(initial[1], dtype=np.float32)))
    anchor = head.weight.detach().clone()
    optimiser = torch.optim.LBFGS(head.parameters(), max_iter=options.max_iterations,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        losses = nn.functional.cross_entropy(head(x), y, reduction="none")
        loss = (losses * per_example).sum() / per_example.sum() + options.l2 * (head.weight - anchor).pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return head.weight.detach().numpy().copy(), head.bias.detach().numpy().copy()


def logits(head: tuple[np.ndarray, np.ndarray], features: np.ndarray) -> np.ndarray:
    return features @ head[0].T + head[1]


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """Fold number of each of ``n`` examples: a seeded shuffle dealt round-robin, so folds differ by one at most."""
    if n < folds:
        raise HeadFitError(f"{n} texts cannot make {folds} folds")
    return np.random.default_rng(seed).permutation(n) % folds


def figures(gold: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    return asdict(score(gold.tolist(), scores.argmax(axis=1).tolist()))


def cross_validate(
    train: LabelledFeatures,
    extras: Sequence[LabelledFeatures],
    held_out: Sequence[LabelledFeatures],
    options: HeadOptions,
    initial: tuple[np.ndarray, np.ndarray],
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, dict[str, Any]]:
    """Out-of-fold figures on every extra set, and figures on each held-out set (never trained on).

    Each extra set is split into ``options.folds`` folds; the head fitted without
    fold k (on the training tweets and the other folds of every extra set)
    predicts fold k. Held-out sets get the mean of the fold heads' logits; with no
    extra sets, one head is fitted and scored.
    """
    if not extras:
        head = fit_head(train, [], options, initial)
        return {item.name: figures(item.labels, logits(head, item.features)) for item in held_out}
    folds = [fold_ids(len(extra.labels), options.folds, options.seed) for extra in extras]
    out_of_fold = [np.zeros((len(extra.labels), 3), dtype=np.float32) for extra in extras]
    held_out_logits = [np.zeros((len(item.labels), 3), dtype=np.float32) for item in held_out]
    for k in range(options.folds):
        kept = [LabelledFeatures(e.name, e.features[f != k], e.labels[f != k]) for e, f in zip(extras, folds,
                                                                                                strict=True)]
        head = fit_head(train, kept, options, initial)
        for extra, fold, target in zip(extras, folds, out_of_fold, strict=True):
            target[fold == k] = logits(head, extra.features[fold == k])
        for item, target in zip(held_out, held_out_logits, strict=True):
            target += logits(head, item.features) / options.folds
        progress(f"fold {k + 1}/{options.folds} fitted")
    results = {item.name: figures(item.labels, target) for item, target in zip(held_out, held_out_logits,
                                                                                 strict=True)}
    for extra, target in zip(extras, out_of_fold, strict=True):
        results[extra.name] = {**figures(extra.labels, target), "out_of_fold": True, "folds": options.folds,
                               "seed": options.seed}
    return results


def save_with_head(model: Any, head: tuple[np.ndarray, np.ndarray], out_dir: Path) -> Path:
    """Save ``model`` with its classifier replaced by ``head`` as a transformers model directory."""
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(head[0]))
        model.classifier.bias.copy_(torch.from_numpy(head[1]))
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    return out_dir


def sample_indices(n: int, k: int, seed: int) -> list[int]:
    """``k`` of ``range(n)``, fixed by ``seed``, in their original order."""
    return sorted(np.random.default_rng(seed).choice(n, size=k, replace=False).tolist())


def encoder_fingerprint(model: Any) -> str:
    """A hash of the encoder's weights: cached embeddings are only reused for the same encoder."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.bert.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def features_key(fingerprint: str, texts: Sequence[str]) -> str:
    """The cache file name of ``texts`` embedded by the encoder with ``fingerprint``."""
    return hashlib.sha256((fingerprint + "\n" + "\n".join(texts)).encode()).hexdigest()[:20]


def refit(
    data_dir: Path,
    out_dir: Path,
    options: HeadOptions,
    *,
    extras: Sequence[tuple[str, Sequence[str], Sequence[int]]] = (),
    held_out: Sequence[tuple[str, Sequence[str], Sequence[int]]] = (),
    model_dir: Path | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Refit the head of ``model_dir`` (default: Harken's default model) and save the result in ``out_dir/model``.

    Trains on ``data_dir``'s training split plus the ``extras`` (name, texts,
    gold); reports ``data_dir``'s validation split and ``held_out`` as they are
    and the extras out-of-fold. Returns the metrics also written to
    ``out_dir/metrics.json``. With ``cache_dir``, embeddings are kept there, keyed
    by the model's weights and the texts, so trying other options costs seconds.
    """
    import json
    import shutil

    from tokenizers import Tokenizer

    from listener.sentiment.default_model.build import TOKENIZER_FILES, base_model_dir, reconstruct
    from listener.sentiment.modeling import MeanPoolingBertClassifier
    from listener.sentiment.training import read_split

    if options.class_weighting not in CLASS_WEIGHTINGS:
        raise HeadFitError(f"class weighting {options.class_weighting!r} is not one of {', '.join(CLASS_WEIGHTINGS)}")
    if model_dir is None:
        model, tokenizer_dir = reconstruct(), base_model_dir()
    else:
        model, tokenizer_dir = MeanPoolingBertClassifier.from_pretrained(str(model_dir)).eval(), Path(model_dir)
    tokenizer_path = tokenizer_dir / "tokenizer.json"
    if not tokenizer_path.is_file():
        tokenizer_path = base_model_dir() / "tokenizer.json"
    normalise = bool(getattr(model.config, "harken_normalise", True))
    model_key = encoder_fingerprint(model)

    def embedded(name: str, texts: Sequence[str], gold: Sequence[int]) -> LabelledFeatures:
        cached = Path(cache_dir) / f"{features_key(model_key, texts)}.npy" if cache_dir else None
        if cached is not None and cached.is_file():
            features = np.load(cached)
        else:
            progress(f"embedding {name} ({len(texts)} texts)")
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
            features = embed(model, tokenizer, texts, normalise=normalise)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.save(cached, features)
        return LabelledFeatures(name, features, np.asarray(gold, dtype=np.int64))

    train_texts, train_gold = read_split(data_dir, "train")
    if options.train_sample is not None and options.train_sample < len(train_texts):
        kept = sample_indices(len(train_texts), options.train_sample, options.seed)
        train_texts, train_gold = [train_texts[i] for i in kept], [train_gold[i] for i in kept]
    val_texts, val_gold = read_split(data_dir, "val")
    train = embedded("train", train_texts, train_gold)
    extra_sets = [embedded(name, texts, gold) for name, texts, gold in extras]
    held = [embedded("val", val_texts, val_gold), *(embedded(name, t, g) for name, t, g in held_out)]
    initial = (model.classifier.weight.detach().numpy().copy(), model.classifier.bias.detach().numpy().copy())
    before = {item.name: figures(item.labels, logits(initial, item.features)) for item in [*held, *extra_sets]}
    after = cross_validate(train, extra_sets, held, options, initial, progress)
    head = fit_head(train, extra_sets, options, initial)
    # sets never trained on are scored with the head that ships; extras keep their out-of-fold figures
    after.update({item.name: figures(item.labels, logits(head, item.features)) for item in held})
    save_with_head(model, head, out_dir / "model")
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file() and not (out_dir / "model" / name).is_file():
            shutil.copyfile(tokenizer_dir / name, out_dir / "model" / name)
    metrics: dict[str, Any] = {
        "selected": "refitted head",
        "val": after["val"],
        "head": {**asdict(options), "extras": [extra.name for extra in extra_sets],
                 "base": str(model_dir) if model_dir else "default"},
        "before": before,
        "after": after,
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def prior_correct(
    data_dir: Path, out_dir: Path, strength: float, model_dir: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Save the model (default: Harken's default) with ``strength * log(class shares)`` added to its head's bias.

    Training with inverse-frequency class weights is, for the head, the same as
    assuming every class equally common; adding ``log(share)`` of the training
    split's classes undoes that (strength 1), half of it at 0.5. Nothing is
    fitted: the shares come from ``data_dir``'s training labels. Returns the
    shares and the added bias; the model is written to ``out_dir``.
    """
    import shutil

    from listener.sentiment.default_model.build import TOKENIZER_FILES, base_model_dir, reconstruct
    from listener.sentiment.modeling import MeanPoolingBertClassifier
    from listener.sentiment.training import read_split

    _, labels = read_split(data_dir, "train")
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=3)
    if (counts == 0).any():
        raise HeadFitError(f"{data_dir}: every class needs training tweets for its share (counts {counts.tolist()})")
    shares = counts / counts.sum()
    shift = (strength * np.log(shares)).astype(np.float32)
    model = reconstruct() if model_dir is None else MeanPoolingBertClassifier.from_pretrained(str(model_dir)).eval()
    with torch.no_grad():
        model.classifier.bias += torch.from_numpy(shift)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tokenizer_dir = Path(model_dir) if model_dir is not None else base_model_dir()
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copyfile(tokenizer_dir / name, out_dir / name)
    return shares, shift
