"""Staff accounts: bootstrapping the first admin, admins managing roles, every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from responders import staff
from responders.roles import PermissionDenied, UnknownRole
from tests.responders.helpers import actions


def test_accounts_are_managed_by_admins_and_audited(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        with pytest.raises(staff.AdminRequired, match="first account must be an admin"):
            staff.add_user(session, "ana@lumen.com", "Ana", "agent", None)
        boss = staff.add_user(session, "Boss@Lumen.com ", "Boss", "admin", None)
        assert boss.email == "boss@lumen.com"
        with pytest.raises(staff.AdminRequired):
            staff.add_user(session, "eve@lumen.com", "Eve", "admin", None)
        ana = staff.add_user(session, "ana@lumen.com", "Ana", "agent", boss)
        with pytest.raises(PermissionDenied):
            staff.add_user(session, "x@lumen.com", "X", "agent", ana)
        with pytest.raises(staff.UserExists):
            staff.add_user(session, "ANA@lumen.com", "Ana again", "agent", boss)
        with pytest.raises(staff.InvalidEmail):
            staff.add_user(session, "not-an-email", "?", "agent", boss)
        with pytest.raises(UnknownRole):
            staff.add_user(session, "y@lumen.com", "Y", "owner", boss)
        staff.set_role(session, ana, "approver", boss)
        staff.set_active(session, ana, False, boss)
        with pytest.raises(PermissionDenied, match="inactive"):
            staff.set_role(session, boss, "agent", ana)
        assert staff.find_user(session, " ANA@lumen.com").role == "approver"
        with pytest.raises(staff.UnknownUser):
            staff.find_user(session, "nobody@lumen.com")
        session.commit()
    assert actions(engine, "staff_user") == [
        ("system:bootstrap", "user.create"), ("boss@lumen.com", "user.create"), ("boss@lumen.com", "user.role"),
        ("boss@lumen.com", "user.deactivate"),
    ]
