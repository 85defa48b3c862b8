"""Benchmark: `profiles import` of CRM files with similar names, today's code against the old one.

    .venv/bin/python bench/profile_import.py [--sizes 5000,20000,100000,1000000] [--baseline-max 20000]
                                             [--prospects 50000] [--customers 10000] [--dir DIR]

For each size it writes a CSV of that many rows (names drawn from 200 first names and
3,000 made-up surnames, so blocking keys are shared by thousands of rows; about 1% bad
rows, repeats, rows updating existing customers and handles already seen on prospects)
and imports it into a copy of one SQLite database holding ``--prospects`` prospects and
``--customers`` customers with the same kind of names. Each import runs in a fresh
process, so that its peak resident memory is its own. Sizes up to ``--baseline-max``
are imported by the old implementation too (bench/profile_import_baseline.py) and the
two databases and reports are compared (suggestions pair by pair: where more than five
prospects are equally like a name, the old code kept whichever five its query returned
first, today's code keeps the five lowest ids). Prints seconds, rows/s, peak RSS and the ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.profiles import FIRST, surname  # noqa: E402
from listener.db import make_engine, migrate  # noqa: E402
from listener.models import CustomerProfile, Identity, LinkSuggestion, ProfileMatchKey  # noqa: E402
from listener.profiles.keys import handle_key, profile_keys  # noqa: E402

HEADER = ["crm_id", "display_name", "emails", "company", "tier", "tags", "notes", "x_handle", "reddit_username"]


def names(rng: random.Random, count: int) -> list[str]:
    surnames = [surname(random.Random(n)).title() for n in range(3000)]
    return [f"{rng.choice(FIRST).title()} {rng.choice(surnames)}" for _ in range(count)]


def build_database(path: Path, n_prospects: int, n_customers: int, seed: int = 11) -> None:
    """Prospects (some with an X handle) and customers with CRM ids C0..; their keys as the app makes them."""
    rng = random.Random(seed)
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    profiles, identities, keys = [], [], []
    for pid, name in enumerate(names(rng, n_prospects + n_customers), start=1):
        customer = pid > n_prospects
        number = pid - n_prospects - 1
        emails = [f"customer{number}@example.com"] if customer else []
        profiles.append({
            "id": pid, "display_name": name, "tier": "standard", "is_prospect": not customer, "emails": emails,
            "tags": [], "crm_id": f"C{number}" if customer else None, "created_at": now, "updated_at": now,
        })
        keys.extend({"key": key, "profile_id": pid} for key in profile_keys(name, emails))
        if not customer and rng.random() < 0.5:
            handle = f"seen{pid}"
            identities.append({
                "profile_id": pid, "platform": "x", "platform_user_id": f"u{pid}", "handle": handle,
                "handle_key": handle_key(handle), "provenance": "automatic", "confidence": 1.0,
                "created_at": now, "updated_at": now,
            })
    with engine.begin() as connection:
        for table, rows in ((CustomerProfile, profiles), (Identity, identities), (ProfileMatchKey, keys)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table.__table__), rows[start : start + 5000])  # type: ignore[attr-defined]
    engine.dispose()


def write_csv(path: Path, rows: int, n_prospects: int, n_customers: int, seed: int = 5) -> None:
    """A CRM export of ``rows`` data rows: mostly new customers, some updates and some bad rows."""
    rng = random.Random(seed)
    seen_handles = [f"seen{pid}" for pid in range(1, n_prospects + 1)]
    written: list[list[str]] = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n, name in enumerate(names(rng, rows)):
            roll = rng.random()
            crm_id, email = f"N{n}", f"{name.lower().replace(' ', '.')}.{n}@example.com"
            x_handle = f"x{n}" if rng.random() < 0.3 else ""
            reddit = f"r_{n}" if rng.random() < 0.2 else ""
            tier = rng.choice(("standard", "vip", "press", ""))
            if roll < 0.004 and written:
                row = rng.choice(written)  # repeated exactly: imported once
            elif roll < 0.006 and written:
                row = [*rng.choice(written)]
                row[1] += " Jr"  # same crm_id, other values: a bad row
            elif roll < 0.011:
                row = [crm_id, name, "not-an-email", "", "gold", "", "", "", ""]  # bad row
            else:
                if roll < 0.03 and n_customers:
                    number = rng.randrange(n_customers)
                    crm_id, email = f"C{number}", f"customer{number}@example.com"
                elif roll < 0.035 and seen_handles:
                    x_handle = rng.choice(seen_handles)  # the CRM lists a handle seen on a prospect
                row = [crm_id, name, email, "Acme, Inc." if roll < 0.5 else "", tier, "bench;similar",
                       "", x_handle, reddit]
            if len(written) < 1000:  # repeats and clashes are drawn from the first rows
                written.append(row)
            writer.writerow(row)


def database_state(url: str) -> dict[str, Any]:
    """What a user could see of the import (not the timestamps): a digest per table, the suggested pairs."""
    engine = make_engine(url)
    state: dict[str, Any] = {}
    with Session(engine) as session:
        for name, statement in (
            ("profiles", select(CustomerProfile.id, CustomerProfile.display_name, CustomerProfile.tier,
                                CustomerProfile.is_prospect, CustomerProfile.emails, CustomerProfile.company,
                                CustomerProfile.crm_id, CustomerProfile.tags, CustomerProfile.notes)
             .order_by(CustomerProfile.id)),
            ("identities", select(Identity.id, Identity.profile_id, Identity.platform, Identity.platform_user_id,
                                  Identity.handle, Identity.handle_key, Identity.provenance).order_by(Identity.id)),
            ("keys", select(ProfileMatchKey.key, ProfileMatchKey.profile_id)
             .order_by(ProfileMatchKey.key, ProfileMatchKey.profile_id)),
        ):
            digest = hashlib.sha256()
            for row in session.execute(statement):
                digest.update(json.dumps(list(row), default=str).encode())
            state[name] = digest.hexdigest()[:16]
        state["suggestions"] = {
            (a, b): json.dumps([score, reasons, status])
            for a, b, score, reasons, status in session.execute(
                select(LinkSuggestion.profile_a_id, LinkSuggestion.profile_b_id, LinkSuggestion.score,
                       LinkSuggestion.reasons, LinkSuggestion.status)
            )
        }
    engine.dispose()
    return state


def compare(old: dict[str, Any], new: dict[str, Any]) -> str:
    """"yes" when both imports left the same database and reports, else what differs."""
    differ = [name for name in ("profiles", "identities", "keys") if old["state"][name] != new["state"][name]]
    if old["problems_digest"] != new["problems_digest"]:
        differ.append("bad rows")
    before, after = old["state"]["suggestions"], new["state"]["suggestions"]
    changed = sum(1 for pair in before.keys() & after.keys() if before[pair] != after[pair])
    if before.keys() != after.keys() or changed:
        # Where more than five prospects are equally like a name, the old code kept the first
        # five its query returned, today's code the five oldest (lowest ids).
        differ.append(f"suggestions: {len(before.keys() - after.keys())} pairs only old, "
                      f"{len(after.keys() - before.keys())} only new, {changed} changed, of {len(before)}")
    return "yes" if not differ else "NO: " + "; ".join(differ)


def child(implementation: str, database: Path, source: Path) -> None:
    """Import one file in this process and print what it took as JSON."""
    if implementation == "old":
        from bench.profile_import_baseline import import_customers
    else:
        from listener.profiles.crm import import_customers
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started = time.perf_counter(), time.process_time()
    with Session(engine) as session:
        report = import_customers(session, source)
        session.commit()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    engine.dispose()
    print(json.dumps({
        "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak / 1024, "start_mb": before / 1024,
        "rows": report.rows,
        "created": len(report.created), "updated": len(report.updated), "unchanged": report.unchanged,
        "bad": len(report.problems), "notes": len(report.notes), "suggestions": report.suggestions,
        "problems_digest": hashlib.sha256("\n".join(map(str, report.problems)).encode()).hexdigest()[:16],
    }))


def measure(implementation: str, template: Path, source: Path, directory: Path, keep_state: bool) -> dict[str, Any]:
    database = directory / f"import-{implementation}.db"
    shutil.copy(template, database)
    output = subprocess.run(
        [sys.executable, __file__, "--child", implementation, str(database), str(source)],
        check=True, capture_output=True, text=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    if keep_state:
        result["state"] = database_state(f"sqlite:///{database}")
    database.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000,100000,1000000")
    parser.add_argument("--baseline-max", type=int, default=20_000, help="largest size the old code imports")
    parser.add_argument("--prospects", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--child", nargs=3, metavar=("IMPL", "DB", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    directory = args.dir or Path(tempfile.mkdtemp(prefix="harken-import-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    template = directory / "seed.db"
    template.unlink(missing_ok=True)
    started = time.perf_counter()
    build_database(template, args.prospects, args.customers)
    print(f"database: {args.prospects:,} prospects, {args.customers:,} customers "
          f"({time.perf_counter() - started:.1f} s to build)")
    print(f"{'rows':>9} {'MB':>6} {'code':>4} {'seconds':>8} {'cpu s':>8} {'rows/s':>8} {'peak MB':>8}  "
          f"created/updated/unchanged/bad/notes/suggestions  same result as old")
    for size in (int(s) for s in args.sizes.split(",")):
        source = directory / f"customers-{size}.csv"
        write_csv(source, size, args.prospects, args.customers)
        megabytes = source.stat().st_size / 1e6
        results = {}
        with_baseline = size <= args.baseline_max
        for implementation in ("old", "new") if with_baseline else ("new",):
            result = results[implementation] = measure(implementation, template, source, directory, with_baseline)
            counts = "/".join(str(result[k]) for k in ("created", "updated", "unchanged", "bad", "notes",
                                                        "suggestions"))
            same = compare(results["old"], result) if implementation == "new" and "old" in results else ""
            print(f"{size:>9,} {megabytes:>6.1f} {implementation:>4} {result['seconds']:>8.2f} "
                  f"{result['cpu_seconds']:>8.2f} "
                  f"{size / result['seconds']:>8,.0f} {result['peak_mb']:>8.0f}  {counts}  {same}", flush=True)
        if "old" in results:
            old, new = results["old"], results["new"]
            print(f"{'':>9} ratio old/new: time {old['seconds'] / new['seconds']:.1f}x, "
                  f"cpu {old['cpu_seconds'] / new['cpu_seconds']:.1f}x, "
                  f"peak memory {old['peak_mb'] / new['peak_mb']:.1f}x", flush=True)
        source.unlink()


if __name__ == "__main__":
    main()
