"""Staff accounts: create, find, sign in. The caller owns the session (one unit of work)."""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import STAFF_ROLES, StaffUser
from bot.db.types import utcnow
from bot.intake.audit import audit
from bot.web.passwords import hash_password, needs_rehash, verify_password


class UserError(ValueError):
    pass


def find_user(session: Session, username: str) -> Optional[StaffUser]:
    return session.execute(
        select(StaffUser).where(func.lower(StaffUser.username) == username.strip().lower())
    ).scalar_one_or_none()


def create_user(session: Session, username: str, display_name: str, role: str, password: str,
                actor: str = "cli") -> StaffUser:
    username = username.strip()
    if role not in STAFF_ROLES:
        raise UserError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise UserError("a username has letters, digits, '.', '-' or '_'")
    if find_user(session, username) is not None:
        raise UserError(f"there is already a user {username!r}")
    user = StaffUser(username=username, display_name=display_name.strip() or username, role=role,
                     password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit(session, actor, "user.created", "staff_user", user.id, role=role)
    return user


def set_password(session: Session, user: StaffUser, password: str, actor: str = "cli") -> None:
    user.password_hash = hash_password(password)
    audit(session, actor, "user.password_set", "staff_user", user.id)


def set_active(session: Session, user: StaffUser, active: bool, actor: str = "cli") -> None:
    user.active = active
    audit(session, actor, "user.enabled" if active else "user.disabled", "staff_user", user.id)


def authenticate(session: Session, username: str, password: str) -> Optional[StaffUser]:
    """The active user with this name and password, else None. Every attempt is audited."""
    user = find_user(session, username)
    ok = verify_password(user.password_hash if user is not None else None, password)
    if user is None or not ok or not user.active:
        audit(session, "anonymous", "user.sign_in_failed", "staff_user", user.id if user else None)
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit(session, user.username, "user.signed_in", "staff_user", user.id)
    return user


def list_users(session: Session) -> List[StaffUser]:
    return list(session.execute(select(StaffUser).order_by(StaffUser.username)).scalars())
