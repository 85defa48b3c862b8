"""Adapt a fine-tuned model to brand mentions: retrain its top encoder layers and head on brand tweets.

A head refitted on frozen features (:mod:`listener.sentiment.head`) cannot change
what the encoder sees in a tweet; a full fine-tune costs about 13 minutes an
epoch on a 2-core CPU. In between, only the top ``top_layers`` transformer
layers and the head learn, on labelled brand tweets (``extras``) mixed with a
seeded sample of the training tweets the model was fine-tuned on ("replay", so
that what it learned there is kept). The lower layers are frozen, so each
tweet's states below the trained layers are computed once and reused for every
epoch and fold: several recipes fit in the time of one full epoch.

Brand tweets that were trained on are only ever judged out-of-fold: each extra
set is split into folds (seeded, or one fold per group, e.g. per brand, so that
every figure is on a brand the fold's model never saw), a model adapted without
fold k predicts fold k. The model that ships is then adapted on all of it with
the same options; its figures on the extra set are the out-of-fold ones.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from listener.sentiment.head import HeadFitError, class_weights, fold_ids, sample_indices
from listener.sentiment.metrics import score
from listener.sentiment.text import normalise_for_model


@dataclass
class AdaptOptions:
    # Transformer layers, counted from the top, that learn (the rest stay frozen).
    top_layers: int = 2
    # Training tweets mixed in beside the brand tweets (a sample fixed by ``seed``).
    replay: int = 2000
    epochs: int = 2
    learning_rate: float = 3e-5
    batch_size: int = 32
    # "none", "sqrt" or "inverse" (see head.class_weights), over the mixed labels.
    class_weighting: str = "none"
    max_length: int = 64
    folds: int = 4
    seed: int = 0
    # Weight-space mix of the adapted layers with where they started (1: as adapted, 0: unchanged), as in
    # robust fine-tuning (WiSE-FT): the mix keeps more of what the start model knew at no cost per text.
    mix: float = 1.0
    # Part of each label's weight spread over the other classes (0: none): the model learns less certainty, which
    # brands it never saw may not bear out.
    label_smoothing: float = 0.0
    # Copies of each tweet of the grouped extra set with its own brand (its group's name) swapped for another
    # brand's, added to the mix. Adapted on three brands' tweets, a model otherwise learns their names (a third of
    # apple's Sanders tweets are negative, a fifteenth of google's) instead of what a tweet says about any brand.
    brand_swaps: int = 0
    # With groups: one fold per group (True), or seeded folds as without groups (False; the groups then only name
    # each tweet's brand for the swaps). One fold per brand is the figure for brands never seen; seeded folds are
    # plain k-fold, where every brand of the data is trained on by each fold.
    fold_by_group: bool = True
    # Fits of each model with training seeds seed, seed + 1, ... (same data, same start) whose weights are averaged, a
    # uniform model soup: one model, no cost per text, less of any one training run's luck in what it learned.
    soup: int = 1


# Names a tweet's own brand is swapped for: none is a Sanders brand, and names that are groups of the data at hand
# are never used, so a held-out brand's name is never written into a tweet that is trained on.
SWAP_BRANDS = ("samsung", "amazon", "netflix", "spotify", "starbucks", "comcast", "verizon", "delta", "uber", "nike",
               "tesla", "sony", "dell", "adobe", "ikea", "paypal", "walmart", "target", "mcdonalds", "airbnb", "intel",
               "nintendo", "xbox", "hp", "ebay", "yahoo", "facebook", "instagram", "youtube", "oracle")


def swap_brand(text: str, brand: str, replacement: str) -> str:
    """``text`` with each whole-word ``brand``, ``@brand`` or ``#brand`` (any case) written as ``replacement``.

    The replacement takes the case of what it replaces (``Apple`` -> ``Samsung``, ``APPLE`` -> ``SAMSUNG``); a
    longer word that holds the name (``pineapple``, ``applesauce``) is left alone.
    """
    def written_alike(match: re.Match[str]) -> str:
        word = match.group(2)
        if word.isupper():
            return match.group(1) + replacement.upper()
        return match.group(1) + (replacement.capitalize() if word[0].isupper() else replacement)

    return _brand_pattern(brand).sub(written_alike, text)


def _brand_pattern(brand: str) -> re.Pattern[str]:
    """``brand`` as a whole word, ``@handle`` or ``#hashtag``, in any case (groups: the prefix, the name)."""
    return re.compile(r"(?<!\w)([@#]?)(" + re.escape(brand) + r")(?!\w)", re.IGNORECASE)


def brand_swapped(texts: Sequence[str], brands: Sequence[str], rng: random.Random) -> list[str]:
    """Each text with its own brand swapped for one of SWAP_BRANDS (not one of ``brands``), chosen by ``rng``."""
    taken = {brand.lower() for brand in brands}
    choices = [name for name in SWAP_BRANDS if name not in taken]
    return [swap_brand(text, brand, rng.choice(choices)) for text, brand in zip(texts, brands, strict=True)]


@dataclass
class TokenStates:
    """One labelled set as the frozen layers leave it: each text's token vectors (length x hidden)."""

    name: str
    states: list[torch.Tensor]
    labels: list[int]


def _padded(states: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(s.shape[0] for s in states)
    hidden = torch.zeros(len(states), longest, states[0].shape[1])
    mask = torch.zeros(len(states), longest)
    for row, state in enumerate(states):
        hidden[row, : state.shape[0]] = state
        mask[row, : state.shape[0]] = 1
    return hidden, mask


class TopLayers:
    """The trainable part of a :class:`MeanPoolingBertClassifier`: its top layers, pooling and head."""

    def __init__(self, model: Any, top_layers: int) -> None:
        n_layers = model.config.num_hidden_layers
        if not 1 <= top_layers <= n_layers:
            raise HeadFitError(f"top layers must be between 1 and {n_layers}, not {top_layers}")
        self.model = model
        self.first = n_layers - top_layers

    def parameters(self) -> list[nn.Parameter]:
        layers = self.model.bert.encoder.layer[self.first :]
        return [*(p for layer in layers for p in layer.parameters()), *self.model.classifier.parameters()]

    def frozen_states(self, tokenizer: Any, texts: Sequence[str], max_length: int, normalise: bool,
                      batch_size: int = 128) -> list[torch.Tensor]:
        """Each text's token vectors after the frozen layers, computed once."""
        prepared = [normalise_for_model(t) if normalise else t for t in texts]
        ids = tokenizer(prepared, truncation=True, max_length=max_length)["input_ids"]
        out: list[torch.Tensor] = [torch.empty(0)] * len(ids)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                longest = max(len(ids[i]) for i in index)
                input_ids = torch.zeros(len(index), longest, dtype=torch.long)
                mask = torch.zeros(len(index), longest, dtype=torch.long)
                for row, i in enumerate(index):
                    input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                states = self.model.bert(input_ids=input_ids, attention_mask=mask,
                                         output_hidden_states=True).hidden_states[self.first]
                for row, i in enumerate(index):
                    out[i] = states[row, : len(ids[i])].clone()
        return out

    def logits(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        additive = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min
        for layer in self.model.bert.encoder.layer[self.first :]:
            output = layer(hidden, attention_mask=additive)
            hidden = output[0] if isinstance(output, tuple) else output
        weights = mask.unsqueeze(-1)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return self.model.classifier(self.model.dropout(pooled))

    def predict_logits(self, states: Sequence[torch.Tensor], batch_size: int = 256) -> np.ndarray:
        self.model.eval()
        order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
        out = np.zeros((len(states), self.model.config.num_labels), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                out[index] = self.logits(*_padded([states[i] for i in index])).numpy()
        return out

    def fit(self, states: Sequence[torch.Tensor], labels: Sequence[int], options: AdaptOptions) -> None:
        """Train the top layers and head on ``states``; then mix their weights with the start's (``options.mix``)."""
        start = [p.detach().clone() for p in self.parameters()]
        self._train(states, labels, options)
        with torch.no_grad():
            for param, first in zip(self.parameters(), start, strict=True):
                param.lerp_(first, 1.0 - options.mix)

    def _train(self, states: Sequence[torch.Tensor], labels: Sequence[int], options: AdaptOptions) -> None:
        torch.manual_seed(options.seed)
        rng = random.Random(options.seed)
        params = self.parameters()
        optimizer = torch.optim.AdamW(params, lr=options.learning_rate, weight_decay=0.01)
        steps = math.ceil(len(states) / options.batch_size) * options.epochs
        warmup = max(1, int(0.06 * steps))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
        weights = class_weights(np.asarray(labels, dtype=np.int64), options.class_weighting)
        loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32),
                                      label_smoothing=options.label_smoothing)
        gold = torch.tensor(list(labels))
        for _ in range(options.epochs):
            self.model.train()
            order = list(range(len(states)))
            rng.shuffle(order)
            # batches of similar length (little padding), in random order
            chunk = options.batch_size * 50
            batches = []
            for start in range(0, len(order), chunk):
                part = sorted(order[start : start + chunk], key=lambda i: states[i].shape[0])
                batches += [part[j : j + options.batch_size] for j in range(0, len(part), options.batch_size)]
            rng.shuffle(batches)
            for batch in batches:
                loss = loss_fn(self.logits(*_padded([states[i] for i in batch])), gold[batch])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)


def adapted(load: Callable[[], Any], states: Sequence[torch.Tensor], labels: Sequence[int],
            options: AdaptOptions) -> TopLayers:
    """The model ``load`` gives with its top layers fitted ``options.soup`` times, one per training seed, averaged."""
    fitted = TopLayers(load(), options.top_layers)
    fitted.fit(states, labels, options)
    if options.soup == 1:
        return fitted
    total = [p.detach().clone() for p in fitted.parameters()]
    for n in range(1, options.soup):
        ingredient = TopLayers(load(), options.top_layers)
        ingredient.fit(states, labels, replace(options, seed=options.seed + n))
        for summed, param in zip(total, ingredient.parameters(), strict=True):
            summed += param.detach()
    with torch.no_grad():
        for param, summed in zip(fitted.parameters(), total, strict=True):
            param.copy_(summed / options.soup)
    return fitted


def _figures(gold: Sequence[int], logits: np.ndarray) -> dict[str, Any]:
    return asdict(score(list(gold), logits.argmax(axis=1).tolist()))


def adapt(
    data_dir: Path,
    out_dir: Path,
    options: AdaptOptions,
    *,
    extras: Sequence[tuple[str, Sequence[str], Sequence[int]]],
    groups: Sequence[str] | None = None,
    held_out: Sequence[tuple[str, Sequence[str], Sequence[int]]] = (),
    model_dir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Adapt ``model_dir`` (default: Harken's default model) to the ``extras``; save it in ``out_dir/model``.

    ``groups`` (one per text of the first extra set, e.g. its brand) makes one
    fold per group instead of ``options.folds`` seeded folds, unless
    ``options.fold_by_group`` is off (the groups then only serve the brand swaps). Reports
    ``data_dir``'s validation split and ``held_out`` with the model that ships,
    the extras out-of-fold. Returns the metrics also written to ``out_dir/metrics.json``.
    """
    from transformers import AutoTokenizer

    from listener.sentiment.default_model.build import TOKENIZER_FILES, base_model_dir, reconstruct
    from listener.sentiment.modeling import MeanPoolingBertClassifier
    from listener.sentiment.training import read_split

    if options.class_weighting not in ("none", "sqrt", "inverse"):
        raise HeadFitError(f"class weighting {options.class_weighting!r} is not one of none, sqrt, inverse")
    if not 0.0 <= options.mix <= 1.0:
        raise HeadFitError(f"mix must be between 0 (the start model) and 1 (as adapted), not {options.mix}")
    if not 0.0 <= options.label_smoothing < 1.0:
        raise HeadFitError(f"label smoothing must be at least 0 and below 1, not {options.label_smoothing}")
    if not extras:
        raise HeadFitError("give at least one extra set (--extra NAME=TEXTS:LABELS) to adapt to")
    if groups is not None and len(groups) != len(extras[0][1]):
        raise HeadFitError(f"{len(groups)} groups for {len(extras[0][1])} texts of {extras[0][0]}")
    if options.soup < 1:
        raise HeadFitError(f"a soup takes at least 1 fit, not {options.soup}")
    if options.brand_swaps < 0:
        raise HeadFitError(f"brand swaps must be 0 or more, not {options.brand_swaps}")
    if options.brand_swaps and groups is None:
        raise HeadFitError("brand swaps need --groups naming each tweet's brand")
    if options.brand_swaps and groups is not None:
        named = sum(bool(_brand_pattern(brand).search(text)) for text, brand in zip(extras[0][1], groups, strict=True))
        if named * 2 < len(groups):
            raise HeadFitError(f"only {named} of {len(groups)} texts of {extras[0][0]} name their group: brand swaps "
                               "need --groups to give each tweet's brand as the tweet writes it")

    def load() -> Any:
        if model_dir is None:
            return reconstruct()
        return MeanPoolingBertClassifier.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    tokenizer_dir = Path(model_dir) if model_dir is not None and (Path(model_dir) / "tokenizer.json").is_file() \
        else base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    start = TopLayers(load(), options.top_layers)
    normalise = bool(getattr(start.model.config, "harken_normalise", False))  # as the classifier reads it

    def states(name: str, texts: Sequence[str], gold: Sequence[int]) -> TokenStates:
        progress(f"encoding {name} ({len(texts)} texts) up to layer {start.first}")
        return TokenStates(name, start.frozen_states(tokenizer, texts, options.max_length, normalise), list(gold))

    train_texts, train_gold = read_split(data_dir, "train")
    replay_index = sample_indices(len(train_texts), min(options.replay, len(train_texts)), options.seed)
    replay = states("replay", [train_texts[i] for i in replay_index], [train_gold[i] for i in replay_index])
    val_texts, val_gold = read_split(data_dir, "val")
    held = [states("val", val_texts, val_gold), *(states(name, t, g) for name, t, g in held_out)]
    extra_sets = [states(name, t, g) for name, t, g in extras]
    # brand-swapped copies of the first extra set, each in its original's fold
    swapped_sets = [states(f"{extras[0][0]} with brands swapped ({n + 1})",
                           brand_swapped(extras[0][1], groups, random.Random(options.seed + n)), extras[0][2])
                    for n in range(options.brand_swaps if groups is not None else 0)]
    before = {item.name: _figures(item.labels, start.predict_logits(item.states)) for item in [*held, *extra_sets]}

    fold_groups = groups if options.fold_by_group else None
    grouped = fold_groups is not None
    if fold_groups is not None:
        names = sorted(set(fold_groups))
        first_folds = np.asarray([names.index(g) for g in fold_groups])
        fold_count = len(names)
        fold_names = names
    else:
        first_folds = fold_ids(len(extra_sets[0].labels), options.folds, options.seed)
        fold_count = options.folds
        fold_names = [str(k + 1) for k in range(fold_count)]
    folds = [first_folds, *(fold_ids(len(e.labels), fold_count, options.seed) for e in extra_sets[1:])]

    def mixed(keep: Callable[[int, np.ndarray], np.ndarray]) -> tuple[list[torch.Tensor], list[int]]:
        texts, labels = list(replay.states), list(replay.labels)
        for index, (extra, fold) in enumerate(zip(extra_sets, folds, strict=True)):
            chosen = np.flatnonzero(keep(index, fold))
            for source in [extra, *(swapped_sets if index == 0 else [])]:
                texts += [source.states[i] for i in chosen]
                labels += [source.labels[i] for i in chosen]
        return texts, labels

    out_of_fold = [np.zeros((len(e.labels), 3), dtype=np.float32) for e in extra_sets]
    fold_figures: list[dict[str, Any]] = []
    for k in range(fold_count):
        part = adapted(load, *mixed(lambda _, fold, k=k: fold != k), options)
        for extra, fold, target in zip(extra_sets, folds, out_of_fold, strict=True):
            target[fold == k] = part.predict_logits([extra.states[i] for i in np.flatnonzero(fold == k)])
        val_figures = _figures(held[0].labels, part.predict_logits(held[0].states))
        fold_figures.append({"fold": fold_names[k], "val": val_figures})
        progress(f"fold {fold_names[k]} ({k + 1}/{fold_count}): val macro-recall "
                 f"{val_figures['macro_recall'] * 100:.2f}")

    final = adapted(load, *mixed(lambda _, fold: np.ones(len(fold), dtype=bool)), options)
    held_logits = {item.name: final.predict_logits(item.states) for item in held}
    after = {item.name: _figures(item.labels, held_logits[item.name]) for item in held}
    for extra, target in zip(extra_sets, out_of_fold, strict=True):
        after[extra.name] = {**_figures(extra.labels, target), "out_of_fold": True, "folds": fold_count,
                             "grouped": grouped and extra is extra_sets[0]}
    model_out = out_dir / "model"
    model_out.mkdir(parents=True, exist_ok=True)
    # The logits behind the figures (the held-out sets by the final model, the extras out-of-fold): a shift of the
    # class priors can be judged on them afterwards without adapting again.
    for name, logits in [*held_logits.items(), *((e.name, t) for e, t in zip(extra_sets, out_of_fold, strict=True))]:
        np.save(out_dir / f"{name}-logits.npy", logits)
    final.model.save_pretrained(str(model_out))
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file() and not (model_out / name).is_file():
            shutil.copyfile(tokenizer_dir / name, model_out / name)
    metrics: dict[str, Any] = {
        "selected": f"top {options.top_layers} layers and head adapted",
        "val": after["val"],
        "adapt": {**asdict(options), "extras": [e.name for e in extra_sets], "grouped_folds": grouped,
                  "base": str(model_dir) if model_dir else "default"},
        "before": before,
        "after": after,
        "folds": fold_figures,
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics
