"""Benchmark: Harken's sentiment fast path against a naive transformers pipeline.

    .venv/bin/python bench/sentiment.py [--n 5000] [--baseline-n 500] [--json]

Texts are TweetEval tweets from ``../shared/data/tweeteval-sentiment`` (the
validation split, then the training split; never the test split, which is kept
for independent evaluation). The fast path is the classifier the ``sentiment.model``
setting loads (the default: int8 ONNX, length-sorted batches), timed after a
warm-up. The baseline is ``transformers.pipeline("text-classification")`` on the
same fine-tuned model in float32 torch, called one text at a time, as a first
attempt would; it is slow, so it runs on the first ``--baseline-n`` texts only.

Each side runs in its own subprocess, so model load time and peak memory
(the RSS high-water mark) are each side's own. Besides texts per second of wall
time, each side reports texts per second of its process CPU time: on a machine
busy with other work (a training run) wall-clock figures mostly measure the
other work, and multi-threaded torch in particular collapses when its threads
have to wait for busy cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "tweeteval-sentiment"
SPLITS = ("val", "train")  # never "test"


def read_tweets(data: Path, n: int) -> list[str]:
    """The first ``n`` tweets of the validation split, then of the training split."""
    texts: list[str] = []
    for split in SPLITS:
        lines = (data / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
        texts.extend(line for line in lines if line.strip())
        if len(texts) >= n:
            break
    if len(texts) < n:
        raise SystemExit(f"only {len(texts)} tweets in {data}, asked for {n}")
    return texts[:n]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_fast(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    from listener.sentiment.classifier import load_classifier

    classifier = load_classifier(
        args.model, threads=args.threads, batch_size=args.batch_size, parallel_batches=args.parallel_batches
    )
    load_seconds = time.perf_counter() - started
    texts = read_tweets(args.data, args.n)
    classifier.classify(texts[:256])  # warm-up: first runs allocate and pick kernels
    started, cpu_started = time.perf_counter(), time.process_time()
    predictions = classifier.classify(texts)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "side": "fast",
        "model": classifier.name,
        "version": classifier.version,
        "texts": len(texts),
        "seconds": seconds,
        "texts_per_second": len(texts) / seconds,
        "texts_per_cpu_second": len(texts) / cpu_seconds,
        "load_seconds": load_seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "labels": [p.label for p in predictions[: args.baseline_n]],
    }


def run_naive(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    import transformers
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from listener.sentiment.modeling import ARCHITECTURE, MeanPoolingBertClassifier
    from listener.sentiment.text import normalise_for_model

    transformers.logging.set_verbosity_error()
    source = str(args.baseline_model)
    config = AutoConfig.from_pretrained(source)
    model_class = (
        MeanPoolingBertClassifier
        if ARCHITECTURE in (config.architectures or [])
        else AutoModelForSequenceClassification
    )
    model = model_class.from_pretrained(source)
    tokenizer = AutoTokenizer.from_pretrained(source)
    pipe = transformers.pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    load_seconds = time.perf_counter() - started
    normalise = bool(getattr(config, "harken_normalise", False))
    texts = read_tweets(args.data, args.baseline_n)
    if normalise:  # the same input the fast path gives the model, so the labels are comparable
        texts = [normalise_for_model(t) for t in texts]
    for text in texts[:10]:
        pipe(text, truncation=True, max_length=128)
    started, cpu_started = time.perf_counter(), time.process_time()
    labels = [pipe(text, truncation=True, max_length=128)[0]["label"].lower() for text in texts]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "side": "naive",
        "model": source,
        "texts": len(texts),
        "seconds": seconds,
        "texts_per_second": len(texts) / seconds,
        "texts_per_cpu_second": len(texts) / cpu_seconds,
        "load_seconds": load_seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "labels": labels,
    }


def _side(args: argparse.Namespace, side: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--side", side, *sys.argv[1:]]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the {side} side failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="tweets for the fast path (default 5000)")
    parser.add_argument("--baseline-n", type=int, default=500, help="tweets for the naive baseline (default 500)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--model", default="default", help="sentiment.model for the fast path")
    parser.add_argument(
        "--baseline-model", type=Path, default=None,
        help="torch model directory for the baseline (default: the default model's build/torch)",
    )
    parser.add_argument("--threads", type=int, default=None, help="threads for the fast path (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--parallel-batches", action=argparse.BooleanOptionalAction, default=True,
        help="ONNX: one thread per batch, batches in parallel (default) or one batch over all threads",
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--side", choices=["fast", "naive"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_model is None:
        if args.model != "default":
            parser.error("--baseline-model is needed when --model is not 'default'")
        from listener.sentiment.default_model import default_model_path

        args.baseline_model = default_model_path().parent / "torch"
    if args.side:
        result = run_fast(args) if args.side == "fast" else run_naive(args)
        print(json.dumps(result))
        return

    fast = _side(args, "fast")
    naive = _side(args, "naive")
    compared = min(len(fast["labels"]), len(naive["labels"]))
    agreement = sum(a == b for a, b in zip(fast["labels"], naive["labels"], strict=False)) / max(1, compared)
    for side in (fast, naive):
        side.pop("labels")
    summary = {
        "fast": fast,
        "naive": naive,
        "speedup": fast["texts_per_second"] / naive["texts_per_second"],
        "label_agreement": agreement,
        "agreement_texts": compared,
        "cores": len(os.sched_getaffinity(0)),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"fast path   {fast['texts_per_second']:8.0f} texts/s  on {fast['texts']} tweets "
          f"({fast['model']} {fast['version']})")
    print(f"naive       {naive['texts_per_second']:8.0f} texts/s  on {naive['texts']} tweets "
          "(transformers pipeline, fp32 torch, one at a time)")
    print(f"speed-up    {summary['speedup']:8.1f} x")
    print(f"per CPU-s   {fast['texts_per_cpu_second']:8.0f} fast, {naive['texts_per_cpu_second']:.0f} naive "
          "(texts per second of process CPU time: the figure to trust on a busy machine)")
    print(f"load        {fast['load_seconds']:8.2f} s fast, {naive['load_seconds']:.2f} s naive (imports included)")
    print(f"peak RSS    {fast['peak_rss_mb']:8.0f} MB fast, {naive['peak_rss_mb']:.0f} MB naive")
    print(f"agreement   {agreement * 100:8.1f} % of labels on the {compared} tweets both classified")
    print(f"cores       {summary['cores']:8d}")


if __name__ == "__main__":
    main()
