"""The audit trail: ids and codes only, never names, numbers or answers."""

from __future__ import annotations

from typing import Optional

from sqlalchemy.orm import Session

from bot.db.models import AuditEvent


def audit(session: Session, actor: str, action: str, entity_type: str, entity_id: Optional[object] = None, **details) -> None:
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id),
            details=details,
        )
    )
