"""Importing customers from a CRM export (CSV) and exporting them in the same format.

The file format, the column mapping and what an import changes are documented
in ``config/customers.md``; ``config/customers.sample.csv`` is a sample export.

Real CRM exports are messy, so reading is tolerant where tolerance is safe (a
byte-order mark, quoted commas and line breaks, blank lines, a row repeated
exactly) and strict where guessing would corrupt data (an invalid email, an
unknown tier, a malformed handle, a row whose cells do not line up with the
header). A bad row is reported as ``line N: reason`` and not imported; every
good row is. Nothing is dropped without a line in the report.

Re-importing the same file changes nothing: a row is matched to its profile by
CRM id, else by email, and only values that differ are written.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy import text as sql_text
from sqlmodel import Session

from listener.db import utcnow
from listener.models import CustomerProfile, Identity
from listener.platforms import all_platforms, platform_names
from listener.profiles.bulk import BatchGarbage, insert_rows
from listener.profiles.errors import ColumnMappingError, CustomerFileError, InvalidProfileData
from listener.profiles.keys import handle_key, index_profiles, keyed_profiles, normalise_handle
from listener.profiles.link_suggestions import (
    RULE_SCORES,
    Reason,
    record_suggestion_ids,
    suggest_link_ids,
)
from listener.profiles.name_blocks import NameBlocks
from listener.profiles.store import TIERS, check_emails, check_tags, check_tier, union
from listener.safe_text import spreadsheet_cell, unguard_spreadsheet_cell

PROFILE_FIELDS: tuple[str, ...] = ("crm_id", "display_name", "emails", "company", "tier", "tags", "notes")


def handle_fields() -> dict[str, str]:
    """The CSV column of each platform's handle (``Platform.crm_column``) -> the platform."""
    return {platform.crm_column: platform.name for platform in all_platforms()}


def csv_fields() -> tuple[str, ...]:
    """Every column of the customer CSV: the profile's own, then one handle column per platform."""
    return (*PROFILE_FIELDS, *handle_fields())
SEPARATOR = ";"
_SPLIT_EMAILS = re.compile(r"[;,\s]+")  # an email holds no comma or space
_SPLIT_HANDLES = re.compile(r"[;,]")
_CHUNK = 500
_BATCH = 5000  # rows matched and written per round of bulk lookups and writes
_READ_SIZE = 1 << 20  # bytes per read when checking that a file is UTF-8
_SQLITE_CACHE_KIB = 64 * 1024  # SQLite's page cache while an import runs


@dataclass(frozen=True)
class ColumnMapping:
    """Which file column holds which Harken field; unmapped columns keep their default names."""

    columns: dict[str, str] = field(default_factory=dict)  # header as written in the file -> field

    @classmethod
    def parse(cls, spec: str | None) -> ColumnMapping:
        """``"Email=emails,Customer ID=crm_id"``: file column = Harken field, comma-separated."""
        columns: dict[str, str] = {}
        for part in (spec or "").split(","):
            if not part.strip():
                continue
            header, sep, target = part.rpartition("=")
            if not sep or not header.strip():
                raise ColumnMappingError(f"mapping {part.strip()!r} is not COLUMN=FIELD")
            columns[header.strip()] = target.strip()
        return cls.of(columns)

    @classmethod
    def from_toml(cls, path: Path) -> ColumnMapping:
        """A TOML file with a ``[columns]`` table: ``"Customer ID" = "crm_id"``."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ColumnMappingError(f"{path}: {error}") from None
        columns = data.get("columns")
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise ColumnMappingError(f'{path}: needs a [columns] table of "File column" = "field"')
        return cls.of(columns)

    @classmethod
    def of(cls, columns: dict[str, str]) -> ColumnMapping:
        targets: dict[str, str] = {}
        for header, target in columns.items():
            if target not in csv_fields():
                raise ColumnMappingError(
                    f"unknown field {target!r} for column {header!r} (fields: {', '.join(csv_fields())})"
                )
            if target in targets:
                raise ColumnMappingError(f"columns {targets[target]!r} and {header!r} both map to {target}")
            targets[target] = header
        return cls(dict(columns))

    def field_for(self, header: str) -> str | None:
        """The field a file column holds, matching names without regard to case or surrounding spaces."""
        wanted = header.strip().casefold()
        for name, target in self.columns.items():
            if name.strip().casefold() == wanted:
                return target
        if wanted in csv_fields() and wanted not in self.columns.values():
            return wanted
        return None

    def header_for(self, target: str) -> str:
        for name, mapped in self.columns.items():
            if mapped == target:
                return name
        return target


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class CustomerRecord:
    """One customer row, checked and in normal form; None/empty means "the file says nothing"."""

    line: int
    crm_id: str | None
    display_name: str
    emails: tuple[str, ...]
    company: str | None
    tier: str | None
    tags: tuple[str, ...]
    notes: str | None
    handles: tuple[tuple[str, str], ...]  # (platform, handle)

    def same_values(self, other: CustomerRecord) -> bool:
        return {**self.__dict__, "line": 0} == {**other.__dict__, "line": 0}


class _LeftAlone(RowProblem):
    """A row deliberately not applied (its customer was merged into another profile): a note, not an error."""


@dataclass
class ImportReport:
    """What an import did, row by row where a row needs a word."""

    rows: int = 0
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)  # bad rows, not imported
    notes: list[RowProblem] = field(default_factory=list)  # rows imported once or left alone, and why
    blank_lines: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    suggestions: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CustomerFileError(f"line {line}: not UTF-8 text (save the export as UTF-8)") from None


def _cell(value: str) -> str:
    # An exported cell was guarded against spreadsheets running it as a formula: the guard comes off here.
    return unguard_spreadsheet_cell(value.replace("\x00", "").strip())


def read_records(
    text: str, mapping: ColumnMapping | None = None
) -> tuple[list[CustomerRecord], ImportReport]:
    """Parse and check every row; returns the good records and a report holding the bad ones."""
    report = ImportReport()
    repeats = _RepeatFilter(report)
    records = [r for r in _read_rows(io.StringIO(text.removeprefix("\ufeff"), newline=""), mapping, report)
               if repeats.keep(r)]
    return records, report


def _read_rows(lines: Iterable[str], mapping: ColumnMapping | None, report: ImportReport) -> Iterator[CustomerRecord]:
    """The checked records of a file's lines, one at a time; bad rows go to the report.

    ``lines`` must split like a file opened with ``newline=""`` (the csv module's rule).
    """
    mapping = mapping or ColumnMapping()
    handle_columns = handle_fields()
    reader = csv.reader(lines)
    fields: list[str | None] | None = None
    last_line = 0
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            last_line = reader.line_num
            report.problems.append(RowProblem(start, f"unreadable CSV: {error}"))
            continue
        last_line = reader.line_num
        if not any(cell.strip() for cell in row):
            report.blank_lines += 1
            continue
        if fields is None:
            fields = _header(row, mapping, report)
            continue
        report.rows += 1
        record = _record(start, row, fields, handle_columns)
        if isinstance(record, RowProblem):
            report.problems.append(record)
        else:
            yield record
    if fields is None:
        raise CustomerFileError("the file is empty: no header row")


def _header(row: list[str], mapping: ColumnMapping, report: ImportReport) -> list[str | None]:
    fields: list[str | None] = []
    for cell in row:
        header = cell.replace("\ufeff", "").strip()
        target = mapping.field_for(header)
        if target is not None and target in fields:
            raise ColumnMappingError(f"two columns hold {target}: map only one of them")
        if target is None:
            report.ignored_columns.append(header)
        fields.append(target)
    if "display_name" not in fields:
        raise ColumnMappingError(
            "no display_name column: name it display_name or map it, e.g. --map 'Name=display_name'"
        )
    if "crm_id" not in fields and "emails" not in fields:
        raise ColumnMappingError("no crm_id or emails column: rows could not be matched again on re-import")
    present = {cell.replace("\ufeff", "").strip().casefold() for cell in row}
    for name in mapping.columns:
        if name.strip().casefold() not in present:
            raise ColumnMappingError(f"mapped column {name!r} is not in the file's header")
    return fields


def _record(
    line: int, row: list[str], fields: list[str | None], handle_columns: dict[str, str] | None = None
) -> CustomerRecord | RowProblem:
    if len(row) != len(fields):
        return RowProblem(line, f"{len(row)} cells where the header has {len(fields)} (an unquoted comma?)")
    values = {target: _cell(cell) for target, cell in zip(fields, row, strict=True) if target is not None}
    reasons: list[str] = []
    display_name = " ".join(values.get("display_name", "").split())
    if not display_name:
        reasons.append("display_name is empty")
    emails: list[str] = []
    try:
        emails = check_emails(e for e in _SPLIT_EMAILS.split(values.get("emails", "")) if e)
    except InvalidProfileData as error:
        reasons.append(str(error))
    tier = None
    if values.get("tier"):
        try:
            tier = check_tier(values["tier"])
        except InvalidProfileData as error:
            reasons.append(str(error))
    tags = tuple(check_tags(values.get("tags", "").split(SEPARATOR)))
    handles: list[tuple[str, str]] = []
    for column, platform in (handle_columns if handle_columns is not None else handle_fields()).items():
        for handle in _SPLIT_HANDLES.split(values.get(column, "")):
            if not handle.strip():
                continue
            try:
                handles.append((platform, normalise_handle(platform, handle)))
            except ValueError as error:
                reasons.append(str(error))
    crm_id = values.get("crm_id") or None
    if not crm_id and not emails and not reasons:
        reasons.append("no crm_id and no email: the row could not be matched again on re-import")
    if reasons:
        return RowProblem(line, "; ".join(reasons))
    unique_handles = tuple(dict.fromkeys((p, h) for p, h in handles))
    return CustomerRecord(
        line, crm_id, display_name, tuple(emails), values.get("company") or None, tier, tags,
        values.get("notes") or None, unique_handles,
    )


class _Seen(NamedTuple):
    """What the repeat check keeps of a row: enough to word a clash, never the row itself."""

    line: int
    has_crm_id: bool
    fingerprint: bytes  # digest of every value but the line: equal digests, equal rows


def _fingerprint(record: CustomerRecord) -> bytes:
    values = (record.crm_id, record.display_name, record.emails, record.company, record.tier, record.tags,
              record.notes, record.handles)
    return hashlib.blake2b(repr(values).encode("utf-8", "surrogatepass"), digest_size=16).digest()


class _RepeatFilter:
    """A row repeated exactly is imported once (noted); rows that disagree about one customer are bad.

    Rows arrive one at a time, so a file of any size is checked while it is read; what is
    remembered per row is its line, whether it had a crm_id and a 16-byte digest of its values.
    """

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.by_crm: dict[str, _Seen] = {}
        self.by_email: dict[str, _Seen] = {}
        self.by_handle: dict[tuple[str, str], _Seen] = {}

    def keep(self, record: CustomerRecord) -> bool:
        """Whether the record goes on to be imported; a repeat or a clash is reported instead."""
        report = self.report
        earlier = self.by_crm.get(record.crm_id) if record.crm_id else None
        by_email = self.by_email
        if earlier is None and not record.crm_id:
            earlier = next((by_email[e] for e in record.emails if e in by_email and not by_email[e].has_crm_id), None)
        fingerprint = _fingerprint(record)
        if earlier is not None:
            if fingerprint == earlier.fingerprint:
                report.notes.append(RowProblem(record.line, f"repeats line {earlier.line}; imported once"))
            else:
                what = f"crm_id {record.crm_id}" if record.crm_id else f"email {record.emails[0]}"
                report.problems.append(
                    RowProblem(record.line, f"{what} is also on line {earlier.line} with different values")
                )
            return False
        clash = next((by_email[e] for e in record.emails if e in by_email), None)
        if clash is not None:
            email = next(e for e in record.emails if e in by_email)
            reason = f"email {email} is also on line {clash.line}, another customer"
            report.problems.append(RowProblem(record.line, reason))
            return False
        keys = [(platform, handle_key(handle) or "") for platform, handle in record.handles]
        taken = next((k for k in keys if k in self.by_handle), None)
        if taken is not None:
            report.problems.append(
                RowProblem(record.line, f"{taken[0]} handle {taken[1]} is also on line {self.by_handle[taken].line}")
            )
            return False
        seen = _Seen(record.line, bool(record.crm_id), fingerprint)
        if record.crm_id:
            self.by_crm[record.crm_id] = seen
        for email in record.emails:
            by_email[email] = seen
        for key in keys:
            self.by_handle[key] = seen
        return True


def import_customers(
    session: Session, source: Path | str | bytes | TextIO, mapping: ColumnMapping | None = None
) -> ImportReport:
    """Import the good rows of a CRM export into this session's transaction (the caller commits).

    A file named by its path is read as a stream, in batches of ``_BATCH`` rows, so a file of
    any size needs about the same memory; it is checked to be UTF-8 first, so that a file that
    cannot be read is refused whole before anything is written.
    """
    report = ImportReport()
    with contextlib.ExitStack() as stack:
        if isinstance(source, Path):
            lines: Iterable[str] = _file_lines(source, stack)
        elif isinstance(source, bytes):
            lines = io.StringIO(_decode(source).removeprefix("\ufeff"), newline="")
        elif isinstance(source, str):
            lines = io.StringIO(source.removeprefix("\ufeff"), newline="")
        else:
            lines = io.StringIO(source.read().removeprefix("\ufeff"), newline="")
        repeats = _RepeatFilter(report)
        importer = stack.enter_context(_Importer(session, report))
        garbage = stack.enter_context(BatchGarbage())
        batch: list[CustomerRecord] = []
        for record in _read_rows(lines, mapping, report):
            if repeats.keep(record):
                batch.append(record)
                if len(batch) >= _BATCH:
                    importer.apply(batch)
                    batch = []
                    garbage.after_batch()
        importer.apply(batch)
        importer.finish()
    report.problems.sort(key=lambda p: p.line)
    report.notes.sort(key=lambda p: p.line)
    return report


def _file_lines(path: Path, stack: contextlib.ExitStack) -> Iterator[str]:
    """The file's lines as ``open(..., newline="")`` gives them, after a pass that checks it is UTF-8."""
    try:
        _check_utf8(path)
        text = stack.enter_context(path.open(encoding="utf-8-sig", newline=""))
    except OSError as error:
        raise CustomerFileError(f"{path}: {error.strerror or error}") from None
    first = next(text, None)
    if first is not None:
        yield first.removeprefix("\ufeff")
        yield from text


def _check_utf8(path: Path) -> None:
    """Raise CustomerFileError naming the first line that is not UTF-8 (read in blocks, kept nowhere)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = 0
    with path.open("rb") as file:
        while True:
            block = file.read(_READ_SIZE)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                # error.object is the bytes held back from the last block (never a newline) plus this block.
                line = newlines + error.object.count(b"\n", 0, error.start) + 1
                raise CustomerFileError(f"line {line}: not UTF-8 text (save the export as UTF-8)") from None
            if not block:
                return
            newlines += block.count(b"\n")


def _worth_reading_every_prospect(session: Session, subjects: int, max_members: int) -> bool:
    """Whether one pass over every prospect's name keys is cheaper than a lookup per subject's key.

    Imported customers are matched with prospects only. When there are fewer prospects than
    customers to match, and their keys fit well in the cache, reading them all at once is.
    """
    prospects = session.execute(
        select(func.count()).where(
            CustomerProfile.is_prospect.is_(True), CustomerProfile.merged_into_id.is_(None)  # type: ignore[attr-defined, union-attr]
        )
    ).scalar_one()
    return prospects <= subjects and prospects * 4 <= max_members // 2  # none at all: no lookup is needed


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _insert_returning_ids(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert profile rows in batched statements; returns their ids in the order of ``rows``."""
    table = CustomerProfile.__table__  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())
    # SQLAlchemy would insert row by row to get the ids in order on SQLite. One executemany
    # gives the rows consecutive rowids in order: from its first row this transaction holds
    # the write lock, and a new rowid is the largest plus one. What is read back confirms it:
    # the range holds exactly as many rows as were inserted, its ends are the first and last row.
    columns = list(rows[0])
    insert_rows(session, table, columns, [tuple(row[name] for name in columns) for row in rows])
    last = session.execute(sql_text("SELECT last_insert_rowid()")).scalar_one()
    first = last - len(rows) + 1
    count, low, high = session.execute(
        select(func.count(), func.min(table.c.id), func.max(table.c.id)).where(table.c.id.between(first, last))
    ).one()
    ends = {
        i: (name, crm_id)
        for i, name, crm_id in session.execute(
            select(table.c.id, table.c.display_name, table.c.crm_id).where(table.c.id.in_([first, last]))
        )
    }
    expected = {i: (rows[i - first]["display_name"], rows[i - first]["crm_id"]) for i in (first, last)}
    if (count, low, high) != (len(rows), first, last) or ends != expected:
        raise RuntimeError("new profile ids could not be matched to their rows")  # pragma: no cover - never seen
    return list(range(first, last + 1))


@dataclass
class _ProfileState:
    """The columns of a profile an import reads and writes, as plain values (no ORM object per row)."""

    id: int | None
    display_name: str
    tier: str
    is_prospect: bool
    emails: list[str]
    company: str | None
    crm_id: str | None
    tags: list[str]
    notes: str | None
    merged_into_id: int | None


_STATE_COLUMNS = tuple(CustomerProfile.__table__.c[name] for name in _ProfileState.__dataclass_fields__)  # type: ignore[attr-defined]
_UPDATED_COLUMNS = ("display_name", "tier", "is_prospect", "emails", "company", "crm_id", "tags", "notes")


class _Importer:
    """Applies records batch by batch: a few bulk lookups per batch, then bulk writes of what differs.

    Batches see the writes of the batches before them; as the repeat check lets no two kept rows
    share a crm_id, an email or a handle, a row finds the same profile it would have found in a
    single pass (a profile named by two rows, by crm_id and by email, gets both in file order).
    """

    def __init__(self, session: Session, report: ImportReport) -> None:
        self.session = session
        self.report = report
        self.now = utcnow()
        self.updated: set[int] = set()
        self.given_handles: set[int] = set()  # profiles that got new handles: their links are looked for
        self.crm_evidence: dict[tuple[int, int], dict[str, Reason]] = defaultdict(dict)
        session.flush()  # the caller's pending changes go in before the bulk statements below
        self.sqlite_cache: int | None = None
        if session.get_bind().dialect.name == "sqlite":
            # A big import touches indexes far larger than SQLite's default 2 MB page cache;
            # a bigger one for this import's duration saves reading the same pages again.
            self.sqlite_cache = session.execute(sql_text("PRAGMA cache_size")).scalar_one()
            session.execute(sql_text(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}"))

    def _preload(self, records: list[CustomerRecord]) -> None:
        session = self.session
        self.by_crm: dict[str, _ProfileState] = {}
        self.by_email: dict[str, set[int]] = defaultdict(set)
        self.by_handle: dict[tuple[str, str], list[tuple[int, bool]]] = defaultdict(list)  # -> (profile, claimed)
        self.profiles: dict[int, _ProfileState] = {}
        crm_ids = [r.crm_id for r in records if r.crm_id]
        for chunk in _chunks(crm_ids):
            for row in session.execute(select(*_STATE_COLUMNS).where(CustomerProfile.crm_id.in_(chunk))):  # type: ignore[union-attr]
                profile = _ProfileState(*row)
                self.by_crm[profile.crm_id] = profile  # type: ignore[index]
                self.profiles[profile.id] = profile  # type: ignore[index]
        email_keys = list(dict.fromkeys("e:" + e for r in records for e in r.emails))
        for chunk in _chunks(email_keys):
            for key, profile_id, _, _, merged_into_id in session.execute(keyed_profiles(chunk)):
                if merged_into_id is None:
                    self.by_email[key[2:]].add(profile_id)
        handle_keys = list(dict.fromkeys(handle_key(h) for r in records for _, h in r.handles))
        for chunk in _chunks(handle_keys):
            for platform, key, profile_id, user_id in session.execute(
                select(Identity.platform, Identity.handle_key, Identity.profile_id, Identity.platform_user_id).where(
                    Identity.platform.in_(platform_names()), Identity.handle_key.in_(chunk)  # type: ignore[attr-defined]
                )
            ):
                self.by_handle[(platform, key)].append((profile_id, user_id is not None))
        wanted = {p for ids in self.by_email.values() for p in ids} - set(self.profiles)
        for chunk in _chunks(list(wanted)):
            for row in session.execute(select(*_STATE_COLUMNS).where(CustomerProfile.id.in_(chunk))):  # type: ignore[union-attr]
                self.profiles[row.id] = _ProfileState(*row)

    def apply(self, records: list[CustomerRecord]) -> None:
        """Match, check and write one batch of records."""
        if not records:
            return
        self._preload(records)
        created: list[_ProfileState] = []
        updated: dict[int, _ProfileState] = {}
        identities: list[tuple[_ProfileState, str, str]] = []
        crm_handles: list[tuple[_ProfileState, int, Reason]] = []
        for record in records:
            target = self._target(record)
            if isinstance(target, _LeftAlone):
                self.report.notes.append(target)
                continue
            if isinstance(target, RowProblem):
                self.report.problems.append(target)
                continue
            plan = self._handle_plan(record, target)
            if isinstance(plan, RowProblem):
                self.report.problems.append(plan)
                continue
            if target is None:
                target = _ProfileState(
                    id=None, display_name=record.display_name, tier=record.tier or TIERS[0], is_prospect=False,
                    emails=list(record.emails), company=record.company, crm_id=record.crm_id,
                    tags=list(record.tags), notes=record.notes, merged_into_id=None,
                )
                created.append(target)
            elif self._update(target, record) or plan:
                updated[target.id] = target  # type: ignore[index]
            else:
                self.report.unchanged += 1
            for platform, handle, others in plan:
                identities.append((target, platform, handle))
                for other in others:
                    detail = f"the CRM lists {platform} handle {handle} for this customer"
                    crm_handles.append((target, other, Reason("crm_handle", detail, RULE_SCORES["crm_handle"])))
        self._write(created, list(updated.values()))
        if identities:
            now = self.now
            insert_rows(
                self.session, Identity.__table__,  # type: ignore[attr-defined]
                ("profile_id", "platform", "platform_user_id", "handle", "handle_key", "provenance", "confidence",
                 "linked_by", "created_at", "updated_at"),
                [(profile.id, platform, None, handle, handle_key(handle), "imported", 1.0, "import", now, now)
                 for profile, platform, handle in identities],
            )
        self.report.created.extend(p.id for p in created)  # type: ignore[misc]
        self.updated.update(updated)
        self.given_handles.update(p.id for p, _, _ in identities)  # type: ignore[misc]
        for profile, other, reason in crm_handles:
            pair = (min(profile.id, other), max(profile.id, other))  # type: ignore[type-var]
            self.crm_evidence[pair][reason.rule] = reason  # type: ignore[index]

    def _target(self, record: CustomerRecord) -> _ProfileState | RowProblem | None:
        target = self.by_crm.get(record.crm_id) if record.crm_id else None
        if target is not None and target.merged_into_id is not None:
            return _LeftAlone(
                record.line,
                f"crm_id {record.crm_id} is profile {target.id}, "
                f"merged into profile {target.merged_into_id}; left as is",
            )
        owners = {p for e in record.emails for p in self.by_email.get(e, ())} - ({target.id} if target else set())
        if target is not None and owners:
            email = next(e for e in record.emails if self.by_email.get(e, set()) - {target.id})
            reason = f"email {email} is on profile {min(owners)}, not on crm_id {record.crm_id}'s"
            return RowProblem(record.line, reason)
        if target is None and owners:
            if len(owners) > 1:
                listed = ", ".join(map(str, sorted(owners)))
                return RowProblem(record.line, f"its emails are on several profiles ({listed})")
            candidate = self.profiles[owners.pop()]
            if record.crm_id and candidate.crm_id and candidate.crm_id != record.crm_id:
                return RowProblem(
                    record.line, f"email {record.emails[0]} is on profile {candidate.id} with crm_id {candidate.crm_id}"
                )
            target = candidate
        return target

    def _handle_plan(
        self, record: CustomerRecord, target: _ProfileState | None
    ) -> list[tuple[str, str, list[int]]] | RowProblem:
        """Handles to add: (platform, handle, profiles whose seen account has that handle)."""
        plan: list[tuple[str, str, list[int]]] = []
        for platform, handle in record.handles:
            linked = self.by_handle.get((platform, handle_key(handle) or ""), [])
            if target is not None and any(profile_id == target.id for profile_id, _ in linked):
                continue
            listed = [profile_id for profile_id, claimed in linked if not claimed]
            if listed:
                return RowProblem(record.line, f"{platform} handle {handle} is already listed on profile {listed[0]}")
            plan.append((platform, handle, sorted({profile_id for profile_id, _ in linked})))
        return plan

    def _update(self, profile: _ProfileState, record: CustomerRecord) -> bool:
        """Write the record's values that differ: its non-empty cells, and emails and tags it adds."""
        changes: dict[str, Any] = {}
        for name in ("display_name", "company", "tier", "notes", "crm_id"):
            value = getattr(record, name)
            if value is not None and getattr(profile, name) != value:
                changes[name] = value
        for name in ("emails", "tags"):
            merged = union(getattr(profile, name), getattr(record, name))
            if merged != getattr(profile, name):
                changes[name] = merged
        if profile.is_prospect:
            changes["is_prospect"] = False
        for name, value in changes.items():
            setattr(profile, name, value)
        return bool(changes)

    def _write(self, created: list[_ProfileState], updated: list[_ProfileState]) -> None:
        """Insert the new profiles (learning their ids), update the changed ones, rebuild their keys."""
        session, now = self.session, self.now
        table = CustomerProfile.__table__  # type: ignore[attr-defined]
        if created:
            rows = [
                {"display_name": p.display_name, "tier": p.tier, "is_prospect": False, "emails": p.emails,
                 "company": p.company, "crm_id": p.crm_id, "tags": p.tags, "notes": p.notes,
                 "created_at": now, "updated_at": now}
                for p in created
            ]
            for profile, profile_id in zip(created, _insert_returning_ids(session, rows), strict=True):
                profile.id = profile_id
        if updated:
            statement = (
                update(table)
                .where(table.c.id == bindparam("profile_id"))
                .values({**{name: bindparam("new_" + name) for name in _UPDATED_COLUMNS}, "updated_at": now})
            )
            session.execute(
                statement,
                [{"profile_id": p.id, **{"new_" + name: getattr(p, name) for name in _UPDATED_COLUMNS}}
                 for p in updated],
            )
            self._expire_loaded(updated)
        index_profiles(session, created, new=True)  # type: ignore[arg-type]
        index_profiles(session, updated)  # type: ignore[arg-type]

    def _expire_loaded(self, profiles: list[_ProfileState]) -> None:
        """Profiles the caller's session holds as objects are reloaded on next access, not left stale."""
        identity_map = self.session.identity_map
        if not len(identity_map):
            return
        for profile in profiles:
            instance = identity_map.get(self.session.identity_key(CustomerProfile, profile.id))
            if instance is not None:
                self.session.expire(instance)

    def finish(self) -> None:
        """The suggestions: handles the CRM lists on prospects, then links for every new or re-handled profile."""
        session, report = self.session, self.report
        report.updated = sorted(self.updated)
        report.suggestions = len(record_suggestion_ids(session, self.crm_evidence))
        # New customers, and customers with new handles, may be people already seen as prospects.
        fresh = sorted({*report.created, *self.given_handles})
        blocks = NameBlocks()  # profiles do not change while suggesting: each name block is read once
        if fresh and _worth_reading_every_prospect(session, len(fresh), blocks.max_members):
            blocks.load_every_prospect(session)
        for chunk in _chunks(fresh):
            report.suggestions += len(suggest_link_ids(session, chunk, blocks))  # type: ignore[arg-type]

    def __enter__(self) -> _Importer:
        return self

    def __exit__(self, *_exc: object) -> None:
        """Give the connection its page cache back, whether the import finished or not."""
        if self.sqlite_cache is not None:
            self.session.execute(sql_text(f"PRAGMA cache_size = {int(self.sqlite_cache)}"))

def export_customers(session: Session, out: TextIO, mapping: ColumnMapping | None = None) -> int:
    """Write every live imported customer (not prospects) in the import format; returns the row count."""
    mapping = mapping or ColumnMapping()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([mapping.header_for(name) for name in csv_fields()])
    count = 0
    last_id = 0
    while True:
        profiles = list(
            session.execute(
                select(CustomerProfile)
                .where(
                    CustomerProfile.id > last_id,  # type: ignore[operator]
                    CustomerProfile.is_prospect.is_(False),  # type: ignore[attr-defined]
                    CustomerProfile.merged_into_id.is_(None),  # type: ignore[union-attr]
                )
                .order_by(CustomerProfile.id)  # type: ignore[arg-type]
                .limit(_CHUNK)
            ).scalars()
        )
        if not profiles:
            return count
        handles: dict[tuple[int, str], list[str]] = defaultdict(list)
        for profile_id, platform, handle, key in session.execute(
            select(Identity.profile_id, Identity.platform, Identity.handle, Identity.handle_key)
            .where(Identity.profile_id.in_([p.id for p in profiles]))  # type: ignore[attr-defined]
            .order_by(Identity.id)  # type: ignore[arg-type]
        ):
            seen = handles[(profile_id, platform)]
            if key and key not in {handle_key(h) for h in seen}:
                seen.append(handle)
        for p in profiles:
            cells = [
                p.crm_id or "", p.display_name, SEPARATOR.join(p.emails), p.company or "", p.tier,
                SEPARATOR.join(p.tags), p.notes or "",
                *(SEPARATOR.join(handles[(p.id, platform)]) for platform in handle_fields().values()),  # type: ignore[index]
            ]
            writer.writerow([spreadsheet_cell(cell) for cell in cells])
            count += 1
        last_id = profiles[-1].id  # type: ignore[assignment]
