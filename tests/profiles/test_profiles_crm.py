"""CRM import and export: messy files import their good rows, bad rows are reported, re-import changes nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import CustomerProfile, Identity, LinkSuggestion
from listener.platforms import all_platforms
from listener.profiles import (
    ColumnMapping,
    ColumnMappingError,
    CustomerFileError,
    export_customers,
    import_customers,
    profile_fields,
)
from tests.profiles.helpers import author, mention, process, profile_of, store

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "customers.sample.csv"

MESSY = (
    "\ufeffcrm_id,display_name,emails,company,tier,tags,notes,x_handle,reddit_username\r\n"  # line 1, with a BOM
    "C-1,Ann Archer,ann@example.com,\"Archer, Bow & Co.\",VIP,archery;vip,\"Likes \"\"quotes\"\"\",@ann_a,\r\n"  # 2
    "\r\n"  # 3 blank
    "C-2,Ben Bishop,not-an-email,,standard,,,,\r\n"  # 4 invalid email
    "C-3,Cleo Cross,cleo@example.com,,gold,,,,\r\n"  # 5 unknown tier
    "C-4,Dan Drake,dan@example.com;DAN@work.example,,press,,\"two\n"  # 6-7 notes over two lines
    "lines\",,u/dan_drake\r\n"
    # line 8 repeats line 2
    "C-1,Ann Archer,ann@example.com,\"Archer, Bow & Co.\",VIP,archery;vip,\"Likes \"\"quotes\"\"\",@ann_a,\r\n"
    "C-5,Eve Evans,eve@example.com,,standard,,,,,extra\r\n"  # 9 cell count
    ",,,,,,,,\r\n"  # 10 blank cells
    "C-6,,fay@example.com,,,,,,\r\n"  # 11 no name
    ",Gus Green,,,,,,,\r\n"  # 12 no crm id and no email
    "C-2,Ben Bishop,ben@example.com,,,,,,\r\n"  # 13 good now
    "C-7,Hal Hart,hal@example.com,,,,,@not a handle!,\r\n"  # 14 bad handle
    "C-4,Dan Drake Jr,dan2@example.com,,,,,,\r\n"  # 15 same crm id, other values
    "C-8,Ida Ives,ann@example.com,,,,,,\r\n"  # 16 email of another customer in the file
)


def import_text(engine: Engine, text: str, mapping: ColumnMapping | None = None) -> Any:
    with Session(engine) as session:
        report = import_customers(session, text.encode("utf-8"), mapping)
        session.commit()
        return report


def database_state(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        rows = session.execute(select(CustomerProfile).order_by(CustomerProfile.id)).scalars()
        profiles = [profile_fields(p) for p in rows]
        identities = [i.model_dump() for i in session.execute(select(Identity).order_by(Identity.id)).scalars()]
        links = [s.model_dump() for s in session.execute(select(LinkSuggestion).order_by(LinkSuggestion.id)).scalars()]
    return {"profiles": profiles, "identities": identities, "suggestions": links}


def test_a_messy_csv_imports_the_good_rows_and_reports_each_bad_one(engine: Engine) -> None:
    report = import_text(engine, MESSY)
    assert [str(p) for p in report.problems] == [
        "line 4: invalid email 'not-an-email'",
        "line 5: unknown tier 'gold' (expected standard, vip, press)",
        "line 9: 10 cells where the header has 9 (an unquoted comma?)",
        "line 11: display_name is empty",
        "line 12: no crm_id and no email: the row could not be matched again on re-import",
        "line 14: invalid x handle '@not a handle!'",
        "line 15: crm_id C-4 is also on line 6 with different values",
        "line 16: email ann@example.com is also on line 2, another customer",
    ]
    assert [str(n) for n in report.notes] == ["line 8: repeats line 2; imported once"]
    assert report.blank_lines == 2
    assert len(report.created) == 3 and report.updated == [] and report.unchanged == 0
    # Nothing silently dropped: every row is created, reported bad, or noted.
    assert report.rows == len(report.created) + len(report.problems) + len(report.notes)
    with Session(engine) as session:
        by_crm = {p.crm_id: p for p in session.execute(select(CustomerProfile)).scalars()}
        assert set(by_crm) == {"C-1", "C-2", "C-4"}
        ann = by_crm["C-1"]
        assert (ann.display_name, ann.company, ann.tier, ann.tags, ann.notes, ann.is_prospect) == (
            "Ann Archer", "Archer, Bow & Co.", "vip", ["archery", "vip"], 'Likes "quotes"', False,
        )
        assert by_crm["C-4"].emails == ["dan@example.com", "dan@work.example"]
        assert by_crm["C-4"].notes == "two\nlines"
        identities = session.execute(select(Identity)).scalars()
        handles = {(i.platform, i.handle, i.platform_user_id, i.provenance) for i in identities}
        assert handles == {("x", "ann_a", None, "imported"), ("reddit", "dan_drake", None, "imported")}


def test_reimporting_changes_nothing(engine: Engine) -> None:
    import_text(engine, MESSY)
    before = database_state(engine)
    report = import_text(engine, MESSY)
    assert (report.created, report.updated, report.unchanged) == ([], [], 3)
    assert database_state(engine) == before


def test_rows_are_matched_by_crm_id_or_email_and_only_differences_are_written(engine: Engine) -> None:
    import_text(engine, "crm_id,display_name,emails,tier\nC-1,Ann,ann@example.com,vip\n,Bob,bob@example.com,\n")
    report = import_text(
        engine, "crm_id,display_name,emails,tier,tags\nC-1,Ann Archer,,,new-tag\nC-2,Bob,BOB@example.com,,\n"
    )
    assert report.created == [] and len(report.updated) == 2
    with Session(engine) as session:
        profiles = {p.display_name: p for p in session.execute(select(CustomerProfile)).scalars()}
        assert profiles["Ann Archer"].emails == ["ann@example.com"]  # an empty cell leaves the value
        assert profiles["Ann Archer"].tier == "vip" and profiles["Ann Archer"].tags == ["new-tag"]
        assert profiles["Bob"].crm_id == "C-2"  # found by email, learns its CRM id


def test_export_round_trips_through_import(engine: Engine, tmp_path: Path) -> None:
    sample = SAMPLE.read_text(encoding="utf-8")
    report = import_text(engine, sample)
    assert report.ok and len(report.created) == 4
    with Session(engine) as session:
        out = io.StringIO()
        assert export_customers(session, out) == 4
    assert out.getvalue() == sample  # the sample is an export
    before = database_state(engine)
    report = import_text(engine, out.getvalue())
    assert report.created == [] and report.updated == [] and database_state(engine) == before


def test_a_column_mapping_reads_and_writes_the_crms_own_headers(engine: Engine, tmp_path: Path) -> None:
    text = "Customer ID,Full Name,E-mail,Owner\nH-1,Jo Jones,jo@example.com,sales team\n"
    mapping = ColumnMapping.parse("Customer ID=crm_id, Full Name=display_name, E-mail=emails")
    report = import_text(engine, text, mapping)
    assert report.ok and len(report.created) == 1 and report.ignored_columns == ["Owner"]
    toml = tmp_path / "crm.toml"
    toml.write_text('[columns]\n"Customer ID" = "crm_id"\n"Full Name" = "display_name"\n"E-mail" = "emails"\n')
    assert ColumnMapping.from_toml(toml) == mapping
    with Session(engine) as session:
        out = io.StringIO()
        export_customers(session, out, mapping)
    # One handle column per registered platform, in the registry's order (x_handle, reddit_username, ...).
    handles = ",".join(platform.crm_column for platform in all_platforms())
    header = f"Customer ID,Full Name,E-mail,company,tier,tags,notes,{handles}"
    assert out.getvalue().splitlines()[0] == header
    assert header.startswith("Customer ID,Full Name,E-mail,company,tier,tags,notes,x_handle,reddit_username")
    with pytest.raises(ColumnMappingError, match="unknown field 'mail'"):
        ColumnMapping.parse("E-mail=mail")
    with pytest.raises(ColumnMappingError, match="no display_name column"):
        import_text(engine, "crm_id,name\nC-1,Jo\n")
    with pytest.raises(ColumnMappingError, match="'Missing' is not in the file's header"):
        import_text(engine, text, ColumnMapping.parse("Missing=company," + "Customer ID=crm_id,Full Name=display_name"))


def test_files_that_cannot_be_read_are_refused_whole(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(CustomerFileError, match="line 2: not UTF-8"):
            import_customers(session, b"crm_id,display_name\nC-1,Andr\xe9\n")
        with pytest.raises(CustomerFileError, match="empty"):
            import_customers(session, b"\n\n")


def test_formula_like_cells_are_guarded_on_export_and_restored_on_import(engine: Engine) -> None:
    text = 'crm_id,display_name,emails,notes\nC-1,"=HYPERLINK(""http://evil"")",a@example.com,-2 refunds\n'
    import_text(engine, text)
    with Session(engine) as session:
        out = io.StringIO()
        export_customers(session, out)
        profile = session.execute(select(CustomerProfile)).scalar_one()
        assert profile.display_name == '=HYPERLINK("http://evil")' and profile.notes == "-2 refunds"
    assert "'=HYPERLINK" in out.getvalue() and "'-2 refunds" in out.getvalue()
    before = database_state(engine)
    import_text(engine, out.getvalue())
    assert database_state(engine) == before


def test_an_imported_handle_attaches_its_author_and_a_seen_one_is_suggested(engine: Engine) -> None:
    seen = mention(author("x", "77", "already_seen", "Seen Before"))
    store(engine, seen)
    process(engine)
    report = import_text(
        engine,
        "crm_id,display_name,emails,x_handle,reddit_username\n"
        "C-1,Liv Lund,liv@example.com,,liv_l\n"
        "C-2,Mo Moss,mo@example.com,already_seen,\n",
    )
    assert report.ok and report.suggestions == 1
    first = mention(author("reddit", "t2_l", "Liv_L"))
    store(engine, first)
    process(engine)
    with Session(engine) as session:
        liv = session.execute(select(CustomerProfile).where(CustomerProfile.crm_id == "C-1")).scalar_one()
        mo = session.execute(select(CustomerProfile).where(CustomerProfile.crm_id == "C-2")).scalar_one()
        suggestion = session.execute(select(LinkSuggestion)).scalar_one()
        assert {suggestion.profile_a_id, suggestion.profile_b_id} == {mo.id, profile_of(engine, seen.external_id)}
        assert suggestion.reasons[0]["rule"] == "crm_handle"
    assert profile_of(engine, first.external_id) == liv.id
    # Importing again makes no second suggestion and no second identity.
    report = import_text(engine, "crm_id,display_name,emails,x_handle\nC-2,Mo Moss,mo@example.com,already_seen\n")
    assert report.suggestions == 0 and report.updated == []


def test_a_handle_listed_on_another_customer_is_a_bad_row(engine: Engine) -> None:
    import_text(engine, "crm_id,display_name,x_handle\nC-1,Nat,nat_x\n")
    report = import_text(engine, "crm_id,display_name,x_handle\nC-2,Other Nat,NAT_X\n")
    assert [str(p) for p in report.problems] == ["line 2: x handle NAT_X is already listed on profile 1"]
