"""Staff accounts on SQLite and PostgreSQL: hashed passwords, sign-in, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import AuditEvent, StaffUser
from bot.web.passwords import WeakPassword, hash_password, verify_password
from bot.web.users import UserError, authenticate, create_user, find_user, set_active, set_password

PASSWORD = "correct horse battery"


def test_passwords_are_stored_as_argon2_hashes(db):
    with db.transaction() as session:
        create_user(session, "anna", "Anna A", "ngo_staff", PASSWORD)
    with db.transaction() as session:
        stored = session.execute(select(StaffUser.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + "x")


def test_sign_in_with_the_right_password_only(db):
    with db.transaction() as session:
        create_user(session, "Anna", "Anna A", "ngo_staff", PASSWORD)
    with db.transaction() as session:
        assert authenticate(session, "anna", PASSWORD).username == "Anna"  # names ignore case
        assert authenticate(session, "anna", "wrong password") is None
        assert authenticate(session, "nobody", PASSWORD) is None
        actions = [e.action for e in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert actions == ["user.created", "user.signed_in", "user.sign_in_failed", "user.sign_in_failed"]


def test_a_disabled_account_cannot_sign_in(db):
    with db.transaction() as session:
        user = create_user(session, "bo", "Bo", "caseworker", PASSWORD)
        set_active(session, user, False)
    with db.transaction() as session:
        assert authenticate(session, "bo", PASSWORD) is None


def test_a_new_password_replaces_the_old(db):
    with db.transaction() as session:
        user = create_user(session, "bo", "Bo", "admin", PASSWORD)
        set_password(session, user, "another long password")
    with db.transaction() as session:
        assert authenticate(session, "bo", PASSWORD) is None
        assert authenticate(session, "bo", "another long password") is not None


@pytest.mark.parametrize("username,role,password,error", [
    ("anna", "boss", PASSWORD, UserError),
    ("an na", "admin", PASSWORD, UserError),
    ("", "admin", PASSWORD, UserError),
    ("anna", "admin", "short", WeakPassword),
])
def test_bad_accounts_are_refused(db, username, role, password, error):
    with pytest.raises(error):
        with db.transaction() as session:
            create_user(session, username, "X", role, password)


def test_usernames_are_unique_whatever_the_case(db):
    with db.transaction() as session:
        create_user(session, "anna", "Anna", "ngo_staff", PASSWORD)
    with pytest.raises(UserError):
        with db.transaction() as session:
            create_user(session, "ANNA", "Anna 2", "ngo_staff", PASSWORD)
    with db.transaction() as session:
        assert find_user(session, " Anna ").display_name == "Anna"


def test_hash_password_refuses_short_passwords():
    with pytest.raises(WeakPassword):
        hash_password("123456789")
