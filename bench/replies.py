"""Benchmark: do the suggestion sources answer what the customer said? Rules, retrieval and model drafts.

    .venv/bin/python bench/replies.py [--base-url URL --model NAME] [--json]

The set is ``bench/data/replies.json``: 40 customer messages to brands, written for
this bench in the style of public customer-care tweets (nothing could be fetched),
each with a reply in the style the brand posts, in 20 pairs on the same topic. The
first of each pair is stored as a past approved reply (for retrieval); the second
is evaluated. Sentiment labels come from Harken's default model, as in production
(so sarcasm is labelled as the model labels it).

For each source, on the 20 evaluated messages, the best suggestion it makes (its
highest score) is judged:

- **none**: the source suggests nothing;
- **generic**: the suggestion is the catch-all "Sorry to hear this ... private
  message with the details" reply;
- **fits** (the rubric): the suggestion is not generic, answers the message's topic
  (it names at least one of the topic's cue words, e.g. an outage reply speaks of
  the service, network, area or status; a billing reply of the charge, bill, refund
  or account), praise gets thanks and nothing that troubleshoots or apologises, and
  nothing in it leaks: no other customer's name or handle, and no clock time,
  flight or order number that the message did not contain;
- **leaks**: suggestions that carry another customer's name or handle, or a time or
  number from another conversation (counted apart, also among those that "fit" no
  other way);
- **latency**: the source's time per message (median and 95th percentile, ms).

Baselines measured in the same run: the reply rules as they were before issue 19
(``bench/data/reply-rules-before-issue-19.toml``) and retrieval as it was (past
replies generalised and re-filled, no scrubbing, no tone match).

Drafts: without ``--base-url`` they come from Harken's OpenAI-compatible simulator
(``responders/drafts/simulator.py``), a deterministic keyword script, not a
language model: its figures measure Harken's pipeline (grounding, redaction, the
checks, the HTTP round trip through the ``openai`` client), not a model's quality.
Point ``--base-url`` and ``--model`` at Ollama, llama.cpp or vLLM for a real model.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from listener.db import make_engine, migrate, utcnow  # noqa: E402
from listener.models import Author, Mention, Reply  # noqa: E402
from listener.platforms import fits  # noqa: E402
from listener.settings import Settings, load_settings  # noqa: E402
from responders.rules import load_reply_rules, render  # noqa: E402
from responders.scrub import CLOCK  # noqa: E402
from responders.similar import SimilarIndex, ensure_embeddings, get_encoder  # noqa: E402
from responders.sources import Proposal  # noqa: E402
from responders.sources.drafts import DraftSource  # noqa: E402
from responders.sources.retrieval import RetrievalSource  # noqa: E402
from responders.sources.rules import RuleSource  # noqa: E402
from responders.suggestions import make_batch  # noqa: E402

DATA = REPO / "bench" / "data"
GENERIC = "private message with the details"
CUES: dict[str, tuple[str, ...]] = {
    "outage": ("outage", "down", "service", "signal", "network", "status", "connection", "area", "modem", "tower"),
    "fault": ("device", "version", "model", "restart", "update", "reinstall", "log", "happen", "since", "app"),
    "delivery": ("order", "delivery", "deliver", "late", "store", "slot"),
    "flight": ("rebook", "booking", "flight"),
    "cancel": ("cancel", "plan", "subscription", "stay", "leave", "lose", "go"),
    "voicemail": ("call", "billing", "wait", "callback", "number"),
    "billing": ("charge", "bill", "refund", "payment", "subscription"),
    "question": ("settings", "search", "available", "range", "walk you", "answer", "product", "notification"),
    "baggage": ("bag", "luggage", "report", "trace"),
    "account": ("account", "unlock", "apple id", "log in", "password", "iforgot"),
}
PRAISE_WORDS = ("thank", "glad", "lovely", "great to hear", "pass")
TROUBLESHOOTING = ("sorry", "restart", "dm", "private message", "try", "details", "version", "what exactly")
NUMBERS = re.compile(r"(?i)\b(?:[A-Z]{2}\d{2,4}|#?\d{5,})\b")


def _words(text: str) -> str:
    return " " + re.sub(r"[^\w' ]+", " ", text.lower()) + " "


def judge(text: str | None, message: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, bool]:
    """The rubric for one suggestion (None: no suggestion)."""
    if text is None:
        return {"none": True, "generic": False, "fits": False, "leaks": False}
    lowered = _words(text)
    leaks = any(
        f" {other['name'].split()[0].lower()} " in lowered or other["handle"].lower() in text.lower()
        for other in others
    ) or any(m.group(0).lower() not in message["text"].lower() for m in CLOCK.finditer(text)) or any(
        m.group(0).lower() not in message["text"].lower() for m in NUMBERS.finditer(text))
    generic = GENERIC in text.lower()
    if message["kind"] == "praise":
        on_topic = any(word in lowered for word in PRAISE_WORDS) and not any(
            f" {word} " in lowered for word in TROUBLESHOOTING)
    else:
        on_topic = any(f" {cue}" in lowered for cue in CUES[message["kind"]]) and "glad to hear" not in lowered
    return {"none": False, "generic": generic, "fits": on_topic and not generic and not leaks, "leaks": leaks}


def _best(proposals: list[Proposal]) -> str | None:
    return max(proposals, key=lambda p: p.score).text if proposals else None


def _old_retrieval(settings: Settings) -> Callable[[Any], dict[int, list[Proposal]]]:
    """Retrieval as it was before issue 19: generalised and re-filled, no scrubbing, no tone match."""
    def propose(batch: Any) -> dict[int, list[Proposal]]:
        index = SimilarIndex.build(batch.session, settings)
        found: dict[int, list[Proposal]] = {}
        if index is None:
            return found
        vectors = ensure_embeddings(batch.session, batch.mentions, get_encoder())
        for mention in batch.mentions:
            for match in index.query(vectors[mention.id], k=settings.replies.max_suggestions,
                                     min_score=settings.replies.similar_min_score, exclude_mention_id=mention.id):
                text = render(match.past.template, batch.values[mention.id])
                if text and fits(mention.platform, text):
                    found.setdefault(mention.id, []).append(Proposal(text, match.score, "similar"))
        return found
    return propose


def _measure(session: Session, settings: Settings, propose: Callable[[Any], dict[int, list[Proposal]]],
             indices: list[int], ids: list[int], mentions: dict[int, Mention], messages: list[dict[str, Any]],
             leak_examples: list[str]) -> dict[str, Any]:
    """One source's figures on the messages at ``indices``, each proposed for alone (a batch of one)."""
    counts = {"none": 0, "generic": 0, "fits": 0, "leaks": 0}
    latencies: list[float] = []
    for i in indices:
        batch = make_batch(session, [mentions[ids[i]]], settings)
        started = time.perf_counter()
        proposals = propose(batch).get(ids[i], [])
        latencies.append((time.perf_counter() - started) * 1000)
        best = _best(proposals)
        verdict = judge(best, messages[i], [m for j, m in enumerate(messages) if j != i])
        for key, value in verdict.items():
            counts[key] += value
        if verdict["leaks"]:
            leak_examples.append(f"{messages[i]['text'][:50]!r} -> {best!r}")
    session.rollback()  # embeddings computed on the way are not kept between sources
    n = len(indices)
    return {"n": n, **{f"{key}_share": round(value / n, 3) for key, value in counts.items()},
            "latency_ms_median": round(statistics.median(latencies), 2),
            "latency_ms_p95": round(sorted(latencies)[max(0, int(0.95 * n) - 1)], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint (default: Harken's simulator)")
    parser.add_argument("--model", default="", help="the model name at --base-url")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    messages = json.loads((DATA / "replies.json").read_text())["messages"]

    from listener.sentiment.classifier import get_classifier
    from responders.drafts.simulator import MODEL, ChatSimulator

    predictions = get_classifier().classify([m["text"] for m in messages])
    simulator = None if args.base_url else ChatSimulator().start()
    base_url = args.base_url or simulator.base_url  # type: ignore[union-attr]
    model = args.model or MODEL
    workdir = Path(tempfile.mkdtemp(prefix="harken-bench-replies-"))
    url = f"sqlite:///{workdir / 'harken.db'}"
    migrate(url)
    engine = make_engine(url)
    knowledge = DATA / "replies-knowledge.toml"
    settings = load_settings(
        database={"url": url}, sentiment={"enabled": False}, brand={"name": "the brand"},
        replies={"similar_replies": True},
        drafts={"enabled": True, "base_url": base_url, "model": model, "timeout_seconds": 30.0,
                "knowledge_file": str(knowledge)},
    )
    before_rules = load_reply_rules(DATA / "reply-rules-before-issue-19.toml")

    ids: list[int] = []
    with Session(engine) as session:
        for number, (message, prediction) in enumerate(zip(messages, predictions, strict=True)):
            author = Author(platform="x", platform_user_id=f"u{number}", handle=message["handle"],
                            display_name=message["name"], followers=100)
            session.add(author)
            session.flush()
            mention = Mention(platform="x", external_id=str(1000 + number), kind="tweet", author_id=author.id,
                              text=message["text"], url=f"https://x.com/i/{number}", raw="{}", language="en",
                              created_at=utcnow(), sentiment_label=prediction.label,
                              sentiment_confidence=prediction.confidence, status="needs_reply")
            session.add(mention)
            session.flush()
            ids.append(mention.id)  # type: ignore[arg-type]
            if number % 2 == 0:  # the first of each pair: a past approved reply
                session.add(Reply(mention_id=mention.id, state="sent", text=message["reply"],  # type: ignore[arg-type]
                                  platform_reply_id=f"r{number}"))
        session.commit()

    get_encoder()  # loaded before the clock starts, as a service loads it once
    draft_source = DraftSource(settings)
    draft_source.detect("warm up the language detector")
    sources: dict[str, Callable[[Any], dict[int, list[Proposal]]]] = {
        "rules (before issue 19)": RuleSource(settings, rules=before_rules).propose,
        "rules": RuleSource(settings).propose,
        "retrieval (before issue 19)": _old_retrieval(settings),
        "retrieval": RetrievalSource(settings).propose,
        "drafts" + (" (simulator, not a model)" if simulator else f" ({model})"): draft_source.propose,
    }
    evaluated = [i for i in range(len(messages)) if i % 2 == 1]
    sets = {"the 20 not seeded": (evaluated, list(sources)),
            f"all {len(messages)} (sources that do not use past replies)": (
                list(range(len(messages))), [name for name in sources if "retrieval" not in name])}
    results: dict[str, dict[str, dict[str, Any]]] = {}
    examples: dict[str, list[str]] = {}
    with Session(engine) as session:
        mentions = {m.id: m for m in session.execute(select(Mention)).scalars()}
        for set_name, (indices, names) in sets.items():
            for name in names:
                results.setdefault(set_name, {})[name] = _measure(
                    session, settings, sources[name], indices, ids, mentions, messages,
                    examples.setdefault(name, []) if set_name.startswith("the 20") else [])
    if simulator is not None:
        simulator.stop()
    labels = {p.label for p in predictions}
    examples = {name: lines for name, lines in examples.items() if lines}
    if args.json:
        print(json.dumps({"results": results, "leak_examples": examples}, indent=2))
        return
    print(f"{len(messages)} messages, {len(evaluated)} seeded as past approved replies; sentiment labels from the "
          f"default model ({', '.join(sorted(labels))})")
    for set_name, rows in results.items():
        print(f"\n{set_name}")
        print(f"{'source':38} {'none':>6} {'generic':>8} {'fits':>6} {'leaks':>6} {'p50 ms':>9} {'p95 ms':>9}")
        for name, row in rows.items():
            print(f"{name:38} {row['none_share']:>6.0%} {row['generic_share']:>8.0%} {row['fits_share']:>6.0%} "
                  f"{row['leaks_share']:>6.0%} {row['latency_ms_median']:>9.2f} {row['latency_ms_p95']:>9.2f}")
        fits_now, fits_before = rows.get("rules", {}).get("fits_share"), rows.get("rules (before issue 19)", {}).get(
            "fits_share")
        if fits_now is not None and fits_before:
            print(f"rules fit ratio, now / before: {fits_now / fits_before:.2f}")
    for name, lines in examples.items():
        print(f"\nleaks in {name}:")
        for line in lines:
            print("  " + line)


if __name__ == "__main__":
    main()
