"""The CRM import at scale: name matching equals a brute-force scan; work grows with the file, not its square."""

from __future__ import annotations

import random
import shutil
import sqlite3
import tracemalloc
from pathlib import Path

import pytest
from rapidfuzz import fuzz
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import make_engine
from listener.models import CustomerProfile
from listener.profiles import create_profile, import_customers, merge_profiles
from listener.profiles import crm as crm_module
from listener.profiles.errors import CustomerFileError
from listener.profiles.keys import name_keys, name_numbers, normalise_name
from listener.profiles.link_suggestions import (
    MIN_NAME_LENGTH,
    NAME_CANDIDATES_PER_SUBJECT,
    NAME_SCORE_CUTOFF,
    load_subjects,
    name_matches,
)
from listener.profiles.name_blocks import NameBlocks

# Same names, near-duplicates, reordered and glued names, accents, other scripts, numbers, initials.
TRICKY_NAMES = [
    "John Smith", "John Smith", "john smith", "JOHN SMITH", "Jon Smith", "John Smyth", "Smith, John", "JohnSmith",
    "johnsmith88", "John Smith 1999", "John Smith 2024", "J. Smith", "John Q Smith", "Johnny Smith",
    "Zoë O'Brien", "Zoe OBrien", "zoe o brien", "Zoé Obrien", "Gabriela Hernández", "gabriela hernandez 🌸",
    "Gabriela Hernandes", "Jürgen Müller", "Jurgen Muller", "Juergen Mueller", "Müller Jürgen",
    "王小明", "王小明 Wang", "Алексей Иванов", "Алексей Иванова", "Søren Kierkegaard", "Soren Kierkegard",
    "Anna", "Annaa", "Ann", "Al", "Mary-Ann Lee", "Mary Ann Lee", "Maryann Lee", "Lee Mary Ann",
    "Fan Account 2024", "Fan Account 1999", "Fan Account", "🙂🙂", "Dr. Nkechi Okafor", "Nkechi Okafor",
]


def brute_force_matches(profiles: list[tuple[int, str, bool, bool]]) -> set[tuple[int, int, float]]:
    """Every live profile against every other, by the rule's definition, with no index and no cache.

    profiles: (id, display name, is_prospect, merged away). A pair is compared when the two
    names share a blocking key, a customer only with prospects; the best five at or above
    the cutoff are kept (ties to the lower id), then pairs with other numbers are dropped.
    """
    live = [p for p in profiles if not p[3]]
    found: set[tuple[int, int, float]] = set()
    for subject_id, subject_name, subject_is_prospect, _ in live:
        name = normalise_name(subject_name)
        if len(name.replace(" ", "")) < MIN_NAME_LENGTH:
            continue
        keys = set(name_keys(subject_name))
        scored = []
        for other_id, other_name, other_is_prospect, _ in live:
            if other_id == subject_id or not (subject_is_prospect or other_is_prospect):
                continue
            if not keys & set(name_keys(other_name)):
                continue
            score = fuzz.token_sort_ratio(name, normalise_name(other_name), processor=None)
            if score >= NAME_SCORE_CUTOFF:
                scored.append((-score, other_id, other_name))
        for negative, other_id, other_name in sorted(scored)[:NAME_CANDIDATES_PER_SUBJECT]:
            numbers, theirs = name_numbers(subject_name), name_numbers(other_name)
            if not (numbers and theirs and numbers != theirs):
                found.add((subject_id, other_id, -negative))
    return found


@pytest.mark.parametrize("every_prospect_first", [False, True], ids=["block by block", "every prospect first"])
def test_blocked_name_matching_finds_what_a_brute_force_scan_finds(engine: Engine, every_prospect_first: bool) -> None:
    rng = random.Random(18)
    profiles: list[tuple[int, str, bool, bool]] = []
    with Session(engine) as session:
        for n in range(300):
            name = rng.choice(TRICKY_NAMES)
            is_prospect = rng.random() < 0.6
            crm_id = None if is_prospect else f"C-{n}"
            profile = create_profile(session, name, is_prospect=is_prospect, crm_id=crm_id)
            profiles.append((profile.id, name, is_prospect, False))  # type: ignore[arg-type]
        # Merged-away profiles are nobody's candidates.
        for index in rng.sample(range(len(profiles)), 15):
            profile_id, name, is_prospect, _ = profiles[index]
            survivor = profiles[(index + 1) % len(profiles)]
            if survivor[3] or survivor[0] == profile_id:
                continue
            merge_profiles(session, survivor[0], profile_id, by="test")
            profiles[index] = (profile_id, name, is_prospect, True)
        session.flush()
        subjects = load_subjects(session, [p[0] for p in profiles])
        # In chunks sharing one small cache, as an import does, so that refills are exercised.
        blocks = NameBlocks(max_members=40)
        if every_prospect_first:  # as an import of more customers than there are prospects does
            blocks.load_every_prospect(session)
        found: set[tuple[int, int, float]] = set()
        for start in range(0, len(subjects), 37):
            for subject, member, similarity in name_matches(session, subjects[start : start + 37], blocks):
                found.add((subject.profile_id, member.profile_id, similarity))
        session.rollback()
    expected = brute_force_matches(profiles)
    assert len(expected) > 300  # the names are tricky enough to match a lot
    assert found == expected


def copy_of(sqlite_url: str, name: str) -> Engine:
    """Another migrated, empty SQLite database beside the fixture's."""
    source = Path(sqlite_url.removeprefix("sqlite:///"))
    target = source.with_name(f"{name}.db")
    shutil.copy(source, target)
    return make_engine(f"sqlite:///{target}")


def similar_names_csv(path: Path, rows: int) -> Path:
    """Rows whose names share a few blocking keys, as customers of one region or family would."""
    first = ["James", "Mary", "John", "Maria", "Jose"]
    last = ["Kato", "Kano", "Kito", "Sato", "Santos", "Smith", "Smyth", "Silva"]
    with path.open("w", encoding="utf-8") as out:
        out.write("crm_id,display_name,emails\n")
        for n in range(rows):
            out.write(f"C{n},{first[n % 5]} {last[(n // 5) % 8]},c{n}@example.com\n")
    return path


def sqlite_work(engine: Engine, path: Path) -> int:
    """Import the file; returns how many SQLite virtual-machine steps (in thousands) the import took."""
    steps = [0]

    def count(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        def tick() -> int:
            steps[0] += 1
            return 0

        dbapi_connection.set_progress_handler(tick, 1000)

    event.listen(engine, "connect", count)
    engine.dispose()  # new connections get the counter
    try:
        with Session(engine) as session:
            report = import_customers(session, path)
            session.commit()
    finally:
        event.remove(engine, "connect", count)
        engine.dispose()
    assert report.ok and len(report.created) == report.rows
    return steps[0]


def test_import_work_grows_with_the_file_not_with_its_square(sqlite_url: str, tmp_path: Path) -> None:
    """Many customers with alike names: four times the rows take about four times the database work.

    Before, every chunk of 500 new customers read again every profile sharing its name keys,
    and every check for earlier suggestions read them all (6.7 times the work for 4 times the rows).
    """
    work = []
    for rows in (1500, 6000):
        engine = copy_of(sqlite_url, f"rows-{rows}")
        with Session(engine) as session:  # prospects with the same names, so that there is something to suggest
            for n in range(50):
                create_profile(session, ["James Kato", "Mary Smith", "Jose Silva"][n % 3], is_prospect=True)
            session.commit()
        work.append(sqlite_work(engine, similar_names_csv(tmp_path / f"{rows}.csv", rows)))
        engine.dispose()
    assert work[1] < 5 * work[0], work


def test_a_big_file_is_imported_with_memory_that_does_not_grow_with_its_rows(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is streamed and applied in batches: each extra row costs far less than the row's own text."""
    monkeypatch.setattr(crm_module, "_BATCH", 200)
    peaks = []
    for rows in (1000, 4000):
        path = tmp_path / f"{rows}.csv"
        with path.open("w", encoding="utf-8") as out:
            out.write("crm_id,display_name,emails,notes\n")
            for n in range(rows):
                out.write(f"K{rows}-{n},Customer {n},k{rows}.{n}@example.com,{'a long note ' * 40}\n")
        tracemalloc.start()
        try:
            with Session(sqlite_engine) as session:
                report = import_customers(session, path)
                session.commit()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert len(report.created) == rows
    per_extra_row = (peaks[1] - peaks[0]) / 3000
    assert per_extra_row < 500, f"{per_extra_row:.0f} bytes of peak memory per extra row"  # a row's notes: 480 bytes


def test_a_file_that_is_not_utf8_late_on_is_refused_whole(sqlite_engine: Engine, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crm_module, "_BATCH", 10)
    monkeypatch.setattr(crm_module, "_READ_SIZE", 64)  # the bad byte lands far from the first block
    path = tmp_path / "late.csv"
    lines = [b"crm_id,display_name,emails"] + [f"C{n},Name {n},n{n}@example.com".encode() for n in range(100)]
    lines[77] = "C77,Zoë Bad,z@example.com".encode("latin-1")
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    with Session(sqlite_engine) as session:
        with pytest.raises(CustomerFileError, match=r"^line 78: not UTF-8 text"):
            import_customers(session, path)
        assert session.scalar(select(func.count()).select_from(CustomerProfile)) == 0


def test_a_streamed_file_reads_like_the_same_bytes_in_memory(sqlite_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Line numbers, quoted line breaks, a lone CR and the BOM come out the same from a file as from bytes."""
    monkeypatch.setattr(crm_module, "_BATCH", 3)
    data = (
        "\ufeffcrm_id,display_name,emails,notes\r\n"
        + "".join(f'C{n},Name {n},n{n}@example.com,"two\r\nlines {n}"\r\n' for n in range(8192 // 30))
        + "C-x,Bad,not-an-email,\rC-y,Lone CR,y@example.com,\n"
        + 'C1,Name 1,n1@example.com,"two\r\nlines 1"\r\n'  # repeats the second row: imported once
        + "C1,Other,n1@example.com,\r\n"  # the same crm_id with other values: a bad row
    ).encode("utf-8")
    path = tmp_path / "streamed.csv"
    path.write_bytes(data)
    reports = []
    for name, source in (("bytes", data), ("file", path)):
        engine = copy_of(sqlite_url, name)
        with Session(engine) as session:
            reports.append(import_customers(session, source))
            session.commit()
        engine.dispose()
    from_bytes, from_file = reports
    assert [str(p) for p in from_file.problems] == [str(p) for p in from_bytes.problems]
    assert [str(p) for p in from_file.notes] == [str(p) for p in from_bytes.notes]
    assert from_file.created == from_bytes.created and from_file.rows == from_bytes.rows
    assert from_file.problems and from_file.notes


def test_rows_applied_one_by_one_or_all_at_once_give_the_same_result(sqlite_url: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches see the writes of earlier batches: two rows naming one profile apply in file order either way."""
    from tests.profiles.test_profiles_crm import MESSY, database_state

    first = "crm_id,display_name,emails,x_handle\nC-1,Pat Park,pat@example.com,\nC-2,Quin Quay,quin@example.com,\n"
    second = (
        "crm_id,display_name,emails,tags,x_handle\n"
        "C-1,Patricia Park,,vip,pat_p\n"  # by crm_id
        ",Pat P. Park,pat@example.com,press,\n"  # the same profile by email, later in the file
        ",Quin Q,quin@example.com;q2@example.com,,\n"
        "C-3,Rae Rowe,rae@example.com,,pat_p\n"  # a handle already on an earlier row
        "C-4,Sam Sun,sam@example.com,,sam_s\n"
    )
    results = []
    for batch in (1, 2, 5000):
        monkeypatch.setattr(crm_module, "_BATCH", batch)
        engine = copy_of(sqlite_url, f"batch-{batch}")
        reports = []
        for text in (MESSY, first, second):
            with Session(engine) as session:
                report = import_customers(session, text.encode("utf-8"))
                session.commit()
            reports.append((report.created, report.updated, report.unchanged, [str(p) for p in report.problems],
                            [str(n) for n in report.notes]))
        state = database_state(engine)
        for profile in state["profiles"]:
            profile.pop("created_at"), profile.pop("updated_at")
        for identity in state["identities"]:
            identity.pop("created_at"), identity.pop("updated_at")
        results.append((reports, state))
        engine.dispose()
    assert results[0] == results[1] == results[2]
    reports, state = results[0]
    assert reports[2][3] == ["line 5: x handle pat_p is also on line 2"]
    names = {p["crm_id"]: p["display_name"] for p in state["profiles"]}
    assert names["C-1"] == "Pat P. Park" and names["C-2"] == "Quin Q"


def test_customers_imported_where_there_are_no_prospects_cost_no_name_lookups(sqlite_url: str, tmp_path: Path) -> None:
    """Customers are matched with prospects only: with none in the database, one query says so for every name."""
    engine = make_engine(sqlite_url)
    prospect_block_reads: list[str] = []

    def watch(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "profile_match_keys" in statement and "is_prospect IS 1" in statement:
            prospect_block_reads.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    try:
        with Session(engine) as session:
            report = import_customers(session, "crm_id,display_name\n" + "".join(
                f"C{n},Ann {''.join(chr(97 + int(d)) for d in str(n))}son\n" for n in range(3000)  # 3,000 surnames
            ))
            session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", watch)
        engine.dispose()
    assert len(report.created) == 3000 and report.suggestions == 0
    assert len(prospect_block_reads) == 1  # was one per 500 distinct blocking keys
