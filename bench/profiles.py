"""Benchmark: match 10,000 mentions from ~6,000 authors against 100,000 profiles on a SQLite file.

    .venv/bin/python bench/profiles.py [--profiles 100000] [--mentions 10000] [--authors 6000] [--dir DIR]

Builds the profiles (imported customers and prospects, with X and Reddit
identities, some known only by handle) and the mentions in bulk, then runs the
processing stage with the profile step alone (batches of 256), once with link
suggestions and once without, each on its own copy of the database. Prints the
timings; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.db import make_engine, migrate
from listener.models import (
    Author,
    CustomerProfile,
    Identity,
    LinkSuggestion,
    Mention,
    ProfileMatchKey,
    Source,
)
from listener.processing import Processor
from listener.profiles.keys import handle_key, profile_keys
from listener.profiles.matching import ProfileMatchStep

FIRST = (
    "james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth",
    "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen",
    "christopher", "lisa", "daniel", "nancy", "matthew", "betty", "anthony", "margaret", "mark", "sandra",
    "donald", "ashley", "steven", "kimberly", "paul", "emily", "andrew", "donna", "joshua", "michelle",
    "kenneth", "carol", "kevin", "amanda", "brian", "dorothy", "george", "melissa", "timothy", "deborah",
    "ronald", "stephanie", "edward", "rebecca", "jason", "sharon", "jeffrey", "laura", "ryan", "cynthia",
    "jacob", "kathleen", "gary", "amy", "nicholas", "angela", "eric", "shirley", "jonathan", "anna", "stephen",
    "brenda", "larry", "pamela", "justin", "emma", "scott", "nicole", "brandon", "helen", "benjamin",
    "samantha", "samuel", "katherine", "gregory", "christine", "alexander", "debra", "frank", "rachel",
    "patrick", "carolyn", "raymond", "janet", "jack", "catherine", "dennis", "maria", "jerry", "heather",
    "tyler", "diane", "aaron", "ruth", "jose", "julie", "adam", "olivia", "henry", "joyce", "nathan",
    "virginia", "douglas", "victoria", "zachary", "kelly", "peter", "lauren", "kyle", "christina", "ethan",
    "joan", "walter", "evelyn", "noah", "judith", "jeremy", "megan", "christian", "andrea", "keith", "cheryl",
    "roger", "hannah", "terry", "jacqueline", "gerald", "martha", "harold", "gloria", "sean", "teresa",
    "austin", "ann", "carl", "sara", "arthur", "madison", "lawrence", "frances", "dylan", "kathryn", "jesse",
    "janice", "jordan", "jean", "bryan", "abigail", "billy", "alice", "joe", "judy", "bruce", "sophia",
    "gabriel", "grace", "logan", "denise", "albert", "amber", "willie", "doris", "alan", "marilyn", "juan",
    "danielle", "wayne", "beverly", "elijah", "isabella", "randy", "theresa", "roy", "diana", "vincent",
    "natalie", "ralph", "brittany", "eugene", "charlotte", "russell", "marie", "bobby", "kayla", "mason",
    "alexis", "philip", "lori", "zoe", "ines", "sofia", "mateo", "lucas", "hugo", "chloe",
)
SYLLABLES = (
    "ka", "ri", "to", "mo", "na", "se", "lu", "vi", "de", "ha", "ro", "mi", "sa", "te", "no", "ba", "ki", "lo",
    "fe", "zu", "ar", "el", "an", "or", "in", "us", "ov", "ek", "ma", "ne",
)


def surname(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def build(path: Path, n_profiles: int, n_mentions: int, n_authors: int, seed: int = 7) -> dict[str, int]:
    """Create and fill the database; returns the mix of authors it made."""
    rng = random.Random(seed)
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    surnames = [surname(rng) for _ in range(3000)]
    profiles, identities, keys = [], [], []
    listed: list[tuple[str, str]] = []  # handle-only identities (platform, handle)
    claimed: list[tuple[str, str, str]] = []  # (platform, user id, handle)
    names: list[tuple[int, str, bool]] = []
    for pid in range(1, n_profiles + 1):
        name = f"{rng.choice(FIRST).title()} {rng.choice(surnames).title()}"
        customer = rng.random() < 0.7
        emails = [f"{name.lower().replace(' ', '.')}{pid}@example.com"] if customer else []
        profiles.append({
            "id": pid, "display_name": name, "tier": rng.choice(("standard", "standard", "vip", "press")),
            "is_prospect": not customer, "emails": emails, "tags": [], "crm_id": f"C{pid}" if customer else None,
            "created_at": now, "updated_at": now,
        })
        keys.extend({"key": key, "profile_id": pid} for key in profile_keys(name, emails))
        names.append((pid, name, customer))
        base = name.lower().replace(" ", "_")[:9] + str(pid)  # X allows 15 characters
        for platform in ("x", "reddit"):
            roll = rng.random()
            if roll < 0.55:
                user_id = f"{platform}{pid}"
                identities.append({
                    "profile_id": pid, "platform": platform, "platform_user_id": user_id, "handle": base,
                    "handle_key": handle_key(base), "provenance": "automatic", "confidence": 1.0,
                    "created_at": now, "updated_at": now,
                })
                claimed.append((platform, user_id, base))
            elif roll < 0.65 and customer:
                identities.append({
                    "profile_id": pid, "platform": platform, "platform_user_id": None, "handle": base,
                    "handle_key": handle_key(base), "provenance": "imported", "confidence": 1.0,
                    "created_at": now, "updated_at": now,
                })
                listed.append((platform, base))
    with engine.begin() as connection:
        for table, rows in ((CustomerProfile, profiles), (Identity, identities), (ProfileMatchKey, keys)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table.__table__), rows[start : start + 5000])  # type: ignore[attr-defined]

    # Authors: known by user id, known only by handle, and new people (some resembling someone).
    authors: list[dict[str, object]] = []
    mix = {"known_user_id": 0, "listed_handle": 0, "new_same_handle": 0, "new_similar_name": 0,
           "new_bio_email": 0, "new_stranger": 0}
    rng.shuffle(claimed)
    rng.shuffle(listed)
    for i in range(n_authors):
        roll = rng.random()
        if roll < 0.40 and claimed:
            platform, user_id, handle = claimed.pop()
            authors.append({"platform": platform, "platform_user_id": user_id, "handle": handle, "display_name": None})
            mix["known_user_id"] += 1
        elif roll < 0.55 and listed:
            platform, handle = listed.pop()
            authors.append({"platform": platform, "platform_user_id": f"new{i}", "handle": handle.upper(),
                            "display_name": None})
            mix["listed_handle"] += 1
        else:
            platform = rng.choice(("x", "reddit"))
            kind = rng.random()
            pid, name, _ = rng.choice(names)
            bio = None
            if kind < 0.15 and claimed:
                other, _, handle = rng.choice(claimed)
                platform = "reddit" if other == "x" else "x"
                display = None
                mix["new_same_handle"] += 1
            elif kind < 0.35:
                handle, display = f"fan{i}", name.replace("a", "e", 1)
                mix["new_similar_name"] += 1
            elif kind < 0.45:
                handle, display = f"mail{i}", f"Someone {i}"
                bio = f"contact: {name.lower().replace(' ', '.')}{pid}@example.com"
                mix["new_bio_email"] += 1
            else:
                handle, display = f"stranger{i}", f"{surname(rng).title()} {surname(rng).title()}"
                mix["new_stranger"] += 1
            authors.append({"platform": platform, "platform_user_id": f"fresh{i}", "handle": handle,
                            "display_name": display, "bio": bio})
    start_time = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(insert(Source.__table__), [{"name": "bench", "kind": "x_mentions", "platform": "x",  # type: ignore[attr-defined]
                                                        "options": {}, "cursor": {}, "created_at": now}])
        author_rows = [{"bio": None, "first_seen_at": now, "updated_at": now, **a} for a in authors]
        connection.execute(insert(Author.__table__), author_rows)  # type: ignore[attr-defined]
        author_ids = list(connection.execute(select(Author.id, Author.platform)).all())
        mentions = []
        for n in range(n_mentions):
            author_id, platform = author_ids[n % len(author_ids)] if n < len(author_ids) else rng.choice(author_ids)
            mentions.append({
                "platform": platform, "external_id": f"m{n}", "kind": "tweet", "source_id": 1, "author_id": author_id,
                "text": f"mention {n}", "url": f"https://example.test/{n}",
                "created_at": start_time + timedelta(minutes=n), "collected_at": now, "raw": "{}",
                "processing_state": "new", "status": "new",
            })
        for start in range(0, len(mentions), 5000):
            connection.execute(insert(Mention.__table__), mentions[start : start + 5000])  # type: ignore[attr-defined]
    engine.dispose()
    return mix


def run(path: Path, suggest: bool) -> tuple[float, ProfileMatchStep, int, int]:
    engine = make_engine(f"sqlite:///{path}")
    step = ProfileMatchStep(suggest=suggest)
    started = time.perf_counter()
    Processor(engine, [step], batch_size=256).run_until_empty()
    elapsed = time.perf_counter() - started
    with Session(engine) as session:
        unattached = session.scalar(select(func.count()).select_from(Mention).where(Mention.profile_id.is_(None)))
        suggestions = session.scalar(select(func.count()).select_from(LinkSuggestion))
    engine.dispose()
    return elapsed, step, unattached or 0, suggestions or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--mentions", type=int, default=10_000)
    parser.add_argument("--authors", type=int, default=6_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="harken-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "profiles.db"
    for leftover in directory.glob("profiles*.db*"):
        leftover.unlink()
    started = time.perf_counter()
    mix = build(path, args.profiles, args.mentions, args.authors)
    print(f"built {args.profiles:,} profiles, {args.authors:,} authors, {args.mentions:,} mentions "
          f"in {time.perf_counter() - started:.1f} s")
    print("authors: " + ", ".join(f"{k} {v}" for k, v in mix.items()))
    copy = directory / "profiles-nosuggest.db"
    shutil.copy(path, copy)

    elapsed, step, unattached, suggestions = run(copy, suggest=False)
    print(f"matching only:        {elapsed:6.2f} s for {step.stats.mentions:,} mentions "
          f"({step.stats.mentions / elapsed:,.0f}/s); by user id {step.stats.by_user_id}, "
          f"by handle {step.stats.by_handle}, new prospects {step.stats.prospects_created}; unattached {unattached}")
    elapsed, step, unattached, suggestions = run(path, suggest=True)
    s = step.stats
    print(f"matching+suggestions: {elapsed:6.2f} s for {s.mentions:,} mentions "
          f"(step: matching {s.seconds_matching:.2f} s, suggestions {s.seconds_suggesting:.2f} s); "
          f"{suggestions} suggestions; unattached {unattached}")
    print(f"database: {path}")


if __name__ == "__main__":
    main()
