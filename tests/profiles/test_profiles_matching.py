"""Matching in the processing stage: every mention ends on a profile; accounts are followed by user id."""

from __future__ import annotations

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Author, CustomerProfile, Identity, Mention
from listener.pipeline import listening_steps
from listener.profiles import create_profile, link_identity
from listener.settings import Settings
from tests.profiles.helpers import author, mention, process, profile_of, store


def count(engine: Engine, model: type, *where) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_repeat_authors_mentions_land_on_one_profile(engine: Engine) -> None:
    alice = author("x", "42", "alice", "Alice Adams")
    store(engine, mention(alice, "first"), mention(alice, "second"))
    process(engine, batch_size=1)  # each mention in its own batch
    store(engine, mention(alice, "third, a week later"))
    process(engine)
    with Session(engine) as session:
        profiles = set(session.execute(select(Mention.profile_id)).scalars())
        assert len(profiles) == 1 and None not in profiles
        profile = session.get(CustomerProfile, profiles.pop())
        assert profile is not None
        assert profile.is_prospect and profile.display_name == "Alice Adams"
        identity = session.execute(select(Identity)).scalar_one()
        assert (identity.platform, identity.platform_user_id, identity.handle) == ("x", "42", "alice")
        assert identity.provenance == "automatic"


def test_a_renamed_handle_stays_on_its_profile_and_the_identity_follows(engine: Engine) -> None:
    store(engine, mention(author("x", "42", "old_name"), "before"))
    process(engine)
    store(engine, mention(author("x", "42", "new_name"), "after the rename"))
    process(engine)
    with Session(engine) as session:
        assert len(set(session.execute(select(Mention.profile_id)).scalars())) == 1
        identity = session.execute(select(Identity)).scalar_one()
        assert (identity.handle, identity.handle_key) == ("new_name", "new_name")
    # Someone else later takes the freed handle: a different account, a different profile.
    store(engine, mention(author("x", "99", "old_name"), "a stranger with the old handle"))
    process(engine)
    assert count(engine, CustomerProfile) == 2


def test_an_imported_handle_is_claimed_by_its_first_author_then_renames_are_followed(engine: Engine) -> None:
    with Session(engine) as session:
        customer = create_profile(session, "Bob Brown", crm_id="C-7", tier="vip")
        link_identity(session, customer.id, "reddit", "u/BobB", provenance="imported")
        session.commit()
        customer_id = customer.id
    first = mention(author("reddit", "t2_b", "bobb"), "hi from bob")  # handles compare without case
    store(engine, first)
    step = process(engine)
    assert profile_of(engine, first.external_id) == customer_id
    assert step.stats.by_handle == 1 and step.stats.prospects_created == 0
    with Session(engine) as session:
        identity = session.execute(select(Identity)).scalar_one()
        assert identity.platform_user_id == "t2_b"
    renamed = mention(author("reddit", "t2_b", "bob_renamed"), "new name, same account")
    store(engine, renamed)
    process(engine)
    assert profile_of(engine, renamed.external_id) == customer_id
    assert count(engine, CustomerProfile) == 1


def test_every_mention_is_attached_even_without_an_author(engine: Engine) -> None:
    store(
        engine,
        mention(author("x", "1", "one")),
        mention(author("reddit", "t2_1", "one")),
        mention(None, "author deleted", platform="reddit"),
    )
    process(engine)
    assert count(engine, Mention, Mention.profile_id.is_(None)) == 0
    # X and Reddit accounts are different accounts until someone confirms they are one person.
    assert count(engine, CustomerProfile) == 3
    with Session(engine) as session:
        names = set(session.execute(select(CustomerProfile.display_name)).scalars())
        assert "Unknown reddit author" in names


def test_hostile_names_and_bios_are_stored_as_data(engine: Engine) -> None:
    hostile = [
        ("x", "1", "bobby", "Robert'); DROP TABLE customer_profiles;--", "'; DELETE FROM mentions; --"),
        ("x", "2", "markup", "[bold red]boss[/] <script>alert(1)</script>", "{{ config }} ${jndi:ldap://x}"),
        ("x", "3", "longname", "Ω" * 5000, "🙂" * 3000),
        ("reddit", "t2_4", "rtl", "\u202eevil\u202c مرحبا", "%s %d %n \\x00"),
    ]
    store(engine, *(mention(author(p, u, h, n, b), text=n) for p, u, h, n, b in hostile))
    process(engine)
    with Session(engine) as session:
        names = set(session.execute(select(CustomerProfile.display_name)).scalars())
        bios = set(session.execute(select(Author.bio)).scalars())
    assert "Robert'); DROP TABLE customer_profiles;--" in names
    assert "[bold red]boss[/] <script>alert(1)</script>" in names
    assert "Ω" * 300 in names  # long names are cut to a displayable length, not refused
    assert "'; DELETE FROM mentions; --" in bios
    assert count(engine, Mention) == 4 and count(engine, Mention, Mention.profile_id.is_(None)) == 0


def test_the_step_makes_a_few_queries_per_batch_not_per_mention(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        for i in range(50):
            customer = create_profile(session, f"Customer {i}", crm_id=f"C{i}")
            link_identity(session, customer.id, "x", f"known{i}", platform_user_id=f"k{i}")
            link_identity(session, customer.id, "reddit", f"listed{i}")
        session.commit()
    mentions = (
        [mention(author("x", f"k{i}", f"known{i}")) for i in range(50)]
        + [mention(author("reddit", f"t2_{i}", f"listed{i}")) for i in range(50)]
        + [mention(author("x", f"n{i}", f"new{i}", f"Newcomer Number{i}")) for i in range(150)]
    )
    store(sqlite_engine, *mentions)
    statements: list[str] = []
    event.listen(sqlite_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    step = process(sqlite_engine, batch_size=250)
    assert (step.stats.by_user_id, step.stats.by_handle, step.stats.prospects_created) == (50, 50, 150)
    assert len(statements) < 40, statements
    assert count(sqlite_engine, Mention, Mention.profile_id.is_(None)) == 0


def test_matching_at_a_smaller_scale_attaches_known_and_new_authors(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        for i in range(2000):
            customer = create_profile(session, f"Person {i} Example", crm_id=f"C{i}")
            link_identity(session, customer.id, "x", f"user{i}", platform_user_id=f"u{i}")
        session.commit()
    known = [mention(author("x", f"u{i}", f"user{i}")) for i in range(0, 2000, 4)]
    new = [mention(author("reddit", f"t2_{i}", f"redditor{i}")) for i in range(300)]
    store(sqlite_engine, *known, *new, *(mention(author("reddit", f"t2_{i}", f"redditor{i}")) for i in range(100)))
    step = process(sqlite_engine)
    assert step.stats.mentions == 900
    assert step.stats.prospects_created == 300
    assert count(sqlite_engine, CustomerProfile) == 2300
    assert profile_of(sqlite_engine, known[10].external_id) == 41  # the customer of user40


def test_profile_matching_runs_after_sentiment_in_the_pipeline() -> None:
    names = [step.name for step in listening_steps(Settings(sentiment={"enabled": True}))]
    assert names[-2:] == ["sentiment", "profiles"]
    assert [step.name for step in listening_steps(Settings(sentiment={"enabled": False}))] == ["profiles"]
