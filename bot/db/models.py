"""The referral database: participants, consent, referrals, answers, sessions, bookings, audit.

Personal data is kept to what the intake needs. Participants are pseudonymous: their id on a
channel is stored only as an HMAC (see :mod:`bot.intake.participants`). Names, phone numbers,
answers, free text, health scores, transcripts and the assistant's conversation events are
encrypted at rest (:class:`~bot.db.types.EncryptedText`, :mod:`bot.crypto`). What is stored, and
why, is described in ``docs/privacy.md``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import declarative_base, relationship

from bot.db.types import EncryptedJSON, EncryptedText, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING))

REFERRAL_STATUSES = ("new", "contacted", "accepted", "started", "declined", "withdrawn")
# offered: a waiting-list place that was offered a freed seat, held until the offer expires;
# attended / no_show: marked by staff after the session.
BOOKING_STATUSES = ("booked", "waitlisted", "offered", "cancelled", "attended", "no_show")
ACTIVE_BOOKING = ("booked", "waitlisted", "offered")
HOLDS_SEAT = ("booked", "offered")
CANCEL_REASONS = ("participant", "staff", "rescheduled", "offer_declined", "offer_expired", "withdrawn")


class Participant(Base):
    __tablename__ = "participants"

    id = Column(Integer, primary_key=True)
    pseudonym = Column(String(64), nullable=False, unique=True)
    channel = Column(String(32), nullable=False)
    # the HMAC of the assistant's conversation id: the participant's events in tracker_events
    tracker_key = Column(String(64), index=True)
    display_name = Column(EncryptedText)
    phone_e164 = Column(EncryptedText)
    language = Column(String(8), nullable=False, default="sv")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    consents = relationship("ConsentRecord", back_populates="participant", cascade="all, delete-orphan")
    referrals = relationship("Referral", back_populates="participant", cascade="all, delete-orphan")
    handoffs = relationship("Handoff", back_populates="participant", cascade="all, delete-orphan")
    alerts = relationship("SafetyAlert", back_populates="participant", cascade="all, delete-orphan")


CONSENT_SCOPES = ("data", "health")


class ConsentText(Base):
    """The exact wording a participant agreed to: one row per scope, language and text.

    ``version`` is the programme's consent version (``program.yml``); ``sha256`` tells two
    wordings apart when a translation is corrected without a new version.
    """

    __tablename__ = "consent_texts"

    id = Column(Integer, primary_key=True)
    scope = Column(String(16), nullable=False)
    version = Column(String(32), nullable=False)
    language = Column(String(8), nullable=False)
    sha256 = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("scope", "version", "language", "sha256", name="uq_consent_text"),
    )


class ConsentRecord(Base):
    """One answer to one consent question: which scope, which text version, in which language."""

    __tablename__ = "consent_records"

    id = Column(Integer, primary_key=True)
    participant_id = Column(ForeignKey("participants.id", ondelete="CASCADE"), nullable=False, index=True)
    scope = Column(String(16), nullable=False)
    given = Column(Boolean, nullable=False)
    text_version = Column(String(32), nullable=False)
    language = Column(String(8), nullable=False)
    recorded_at = Column(UTCDateTime, nullable=False, default=utcnow)
    withdrawn_at = Column(UTCDateTime)
    text_id = Column(ForeignKey("consent_texts.id"))  # the wording shown (None before 0005)

    participant = relationship("Participant", back_populates="consents")
    consent_text = relationship("ConsentText")

    __table_args__ = (CheckConstraint("scope IN ('data', 'health')", name="scope"),)


class Referral(Base):
    __tablename__ = "referrals"

    id = Column(Integer, primary_key=True)
    participant_id = Column(ForeignKey("participants.id", ondelete="CASCADE"), nullable=False, index=True)
    intake_key = Column(String(64), nullable=False, unique=True)
    status = Column(String(16), nullable=False, default="new")
    language = Column(String(8), nullable=False)
    channel = Column(String(32), nullable=False)
    eligible = Column(Boolean)  # None: could not be decided from the answers; a caseworker checks
    eligibility_reasons = Column(JSON, nullable=False, default=list)
    barriers = Column(JSON, nullable=False, default=list)
    priority = Column(Integer, nullable=False)
    urgent = Column(Boolean, nullable=False, default=False)
    phq4_score = Column(EncryptedJSON)  # an int
    phq4_band = Column(EncryptedText)
    assisted_by = Column(String(100))
    # "full", or "short" for the SMS intake, which leaves health and most barriers to the first meeting
    screening = Column(String(8), nullable=False, default="full", server_default=text("'full'"))
    funnel_key = Column(String(64))  # the conversation's key in funnel_events (attendance is counted there)
    # where the assistant may write unasked (reminders, offers): a Telegram chat id or a phone
    # number; None on the tablet and REST channels, which cannot be written to
    contact_address = Column(EncryptedText)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    status_changed_at = Column(UTCDateTime, nullable=False, default=utcnow)

    participant = relationship("Participant", back_populates="referrals")
    answers = relationship(
        "ScreeningAnswer", back_populates="referral", cascade="all, delete-orphan",
        order_by="ScreeningAnswer.id",
    )
    bookings = relationship(
        "Booking", back_populates="referral", cascade="all, delete-orphan", order_by="Booking.id"
    )

    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'contacted', 'accepted', 'started', 'declined', 'withdrawn')",
            name="status",
        ),
        CheckConstraint("priority BETWEEN 1 AND 3", name="priority"),
        Index("ix_referrals_status_created", "status", "created_at"),
    )


class ScreeningAnswer(Base):
    __tablename__ = "screening_answers"

    id = Column(Integer, primary_key=True)
    referral_id = Column(ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False)
    question_key = Column(String(64), nullable=False)
    value = Column(EncryptedText)  # an option code, a number or an E.164 number; None when skipped
    free_text = Column(EncryptedText)  # what the participant wrote, when the answer is free text
    skipped = Column(Boolean, nullable=False, default=False)

    referral = relationship("Referral", back_populates="answers")

    __table_args__ = (UniqueConstraint("referral_id", "question_key", name="uq_answer_question"),)


class Activity(Base):
    __tablename__ = "activities"

    id = Column(Integer, primary_key=True)
    code = Column(String(64), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    provider = Column(String(200), nullable=False)
    municipality = Column(String(100), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    sessions = relationship("ActivitySession", back_populates="activity", order_by="ActivitySession.starts_at")


class ActivitySession(Base):
    """One occasion of an activity, e.g. an intro meeting, with a fixed number of seats."""

    __tablename__ = "activity_sessions"

    id = Column(Integer, primary_key=True)
    activity_id = Column(ForeignKey("activities.id"), nullable=False, index=True)
    starts_at = Column(UTCDateTime, nullable=False, index=True)
    ends_at = Column(UTCDateTime)
    place = Column(String(200), nullable=False)
    address = Column(String(300), nullable=False)
    capacity = Column(Integer, nullable=False)
    seats_booked = Column(Integer, nullable=False, default=0, server_default=text("0"))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    activity = relationship("Activity", back_populates="sessions")
    bookings = relationship("Booking", back_populates="session", order_by="Booking.id")

    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint("seats_booked >= 0 AND seats_booked <= capacity", name="seats"),
    )

    @property
    def seats_free(self) -> int:
        return self.capacity - self.seats_booked


class Booking(Base):
    __tablename__ = "bookings"

    id = Column(Integer, primary_key=True)
    referral_id = Column(ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False)
    session_id = Column(ForeignKey("activity_sessions.id"), nullable=False, index=True)
    status = Column(String(16), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    offer_expires_at = Column(UTCDateTime)  # an offered seat is held for the participant until then
    confirmed_at = Column(UTCDateTime)  # the participant answered a reminder "I will come"
    cancel_reason = Column(String(16))

    referral = relationship("Referral", back_populates="bookings")
    session = relationship("ActivitySession", back_populates="bookings")
    messages = relationship(
        "BookingMessage", back_populates="booking", cascade="all, delete-orphan", order_by="BookingMessage.id"
    )

    __table_args__ = (
        CheckConstraint(
            "status IN ('booked', 'waitlisted', 'offered', 'cancelled', 'attended', 'no_show')", name="status"
        ),
        # A referral holds at most one seat, offer or waiting-list place at a time.
        Index(
            "uq_bookings_one_active_per_referral",
            "referral_id",
            unique=True,
            sqlite_where=text("status IN ('booked', 'waitlisted', 'offered')"),
            postgresql_where=text("status IN ('booked', 'waitlisted', 'offered')"),
        ),
        Index("ix_bookings_status_offer_expires", "status", "offer_expires_at"),
    )


BOOKING_MESSAGE_KINDS = ("reminder", "offer", "offer_expired", "no_show")
# pending: waits for due_at; sending: claimed by a scheduler; sent: handed to the channel's
# outbox; held: the channel cannot be written to (tablet, REST): shown to staff instead;
# cancelled: no longer true (the booking was cancelled or moved); skipped: too late to be useful.
BOOKING_MESSAGE_STATUSES = ("pending", "sending", "sent", "held", "cancelled", "skipped")


class BookingMessage(Base):
    """A message the assistant sends about a booking without being asked: a reminder, an offer.

    Durable and sent once: the scheduler (:mod:`bot.scheduler`) claims a due row with one
    conditional UPDATE, and (booking, kind) is unique. ``kind`` is ``reminder:<minutes before>``,
    ``offer``, ``offer_expired`` or ``no_show``. Holds no text: it is rendered when sent, in the
    participant's language.
    """

    __tablename__ = "booking_messages"

    id = Column(Integer, primary_key=True)
    booking_id = Column(ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(32), nullable=False)
    due_at = Column(UTCDateTime, nullable=False)
    status = Column(String(16), nullable=False, default="pending")
    claimed_at = Column(UTCDateTime)
    sent_at = Column(UTCDateTime)
    outbound_id = Column(Integer)  # the outbox row that carried it (outbound_messages.id)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    booking = relationship("Booking", back_populates="messages")

    __table_args__ = (
        UniqueConstraint("booking_id", "kind", name="uq_booking_message_kind"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'held', 'cancelled', 'skipped')", name="status"
        ),
        Index("ix_booking_messages_status_due", "status", "due_at"),
    )


class AuditEvent(Base):
    """Who did what to which record. Holds ids and codes only, never personal data."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(100), nullable=False)
    action = Column(String(64), nullable=False)
    entity_type = Column(String(32), nullable=False)
    entity_id = Column(String(64))
    details = Column(JSON, nullable=False, default=dict)


OUTBOUND_STATUSES = ("queued", "sending", "sent", "delivered", "failed")


class InboundMessage(Base):
    """A gateway's id of a message we took in, so that a redelivered message is dropped.

    Telegram redelivers an update until it gets a 2xx; 46elks retries for hours. Holds no
    message id and, for the tablet, the (encrypted) answer. Rows older than seven days are purged
    by ``intake privacy purge``.
    """

    __tablename__ = "inbound_messages"

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    external_id = Column(String(100), nullable=False)
    received_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    # what was answered, for a channel that answers in the response (the tablet): a resent
    # message gets the same answer instead of none
    response = Column(EncryptedJSON)

    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_inbound_channel_external_id"),)


class PendingChoice(Base):
    """The options of the last question sent to a participant, on channels without real buttons.

    An SMS reply "2" or "٢" means the second of these. Kept in the database, so that it
    survives restarts and is shared by several server instances.
    """

    __tablename__ = "pending_choices"

    pseudonym = Column(String(64), primary_key=True)
    options = Column(JSON, nullable=False, default=list)  # [{"title": ..., "payload": ...}]
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class OutboundMessage(Base):
    """A message to a participant through a gateway: queued, retried with back-off, recorded.

    The text is cleared once the gateway has taken it; what stays is when, how many segments,
    and whether it arrived, so a caseworker can see a participant whom messages do not reach.
    """

    __tablename__ = "outbound_messages"

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    pseudonym = Column(String(64), nullable=False, index=True)
    recipient = Column(EncryptedText, nullable=False)  # E.164 number or chat id
    body = Column(EncryptedText)
    encoding = Column(String(8))
    segments = Column(Integer, nullable=False, default=1)
    status = Column(String(16), nullable=False, default="queued")
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_error = Column(String(500))
    gateway_id = Column(String(100), index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = Column(UTCDateTime)
    # buttons to show with the message ([{"title", "payload"}]); Telegram shows them as a keyboard,
    # an SMS has them numbered in its body already
    buttons = Column(JSON)
    # the last message to someone who erased their data: the row goes once the gateway has it
    forget_after_send = Column(Boolean, nullable=False, default=False, server_default=text("false"))

    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'delivered', 'failed')", name="status"
        ),
        Index("ix_outbound_status_next_attempt", "status", "next_attempt_at"),
    )


STAFF_ROLES = ("caseworker", "ngo_staff", "admin")


class StaffUser(Base):
    """A person who signs in: municipal caseworkers, the NGO's staff (the tablet), administrators.

    Passwords are kept only as Argon2 hashes (:mod:`bot.web.passwords`).
    """

    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(200), nullable=False)
    role = Column(String(16), nullable=False)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True, server_default=text("true"))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at = Column(UTCDateTime)

    __table_args__ = (CheckConstraint("role IN ('caseworker', 'ngo_staff', 'admin')", name="role"),)


ATTENDANCE = ("attended", "no_show")


class BookingAttendance(Base):
    """Whether a booked participant came to the session (marked by staff in the dashboard)."""

    __tablename__ = "booking_attendance"

    booking_id = Column(ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True)
    outcome = Column(String(16), nullable=False)
    marked_by = Column(String(100), nullable=False)
    marked_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (CheckConstraint("outcome IN ('attended', 'no_show')", name="outcome"),)


class ReferralNote(Base):
    """A caseworker's note on a referral, with the status change it came with, if any."""

    __tablename__ = "referral_notes"

    id = Column(Integer, primary_key=True)
    referral_id = Column(ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False, index=True)
    author = Column(String(100), nullable=False)
    text = Column(EncryptedText, nullable=False, default="")
    status_from = Column(String(16))
    status_to = Column(String(16))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class ReferralTranscript(Base):
    """The conversation that made a referral, as the participant saw it (taps shown as their labels)."""

    __tablename__ = "referral_transcripts"

    referral_id = Column(ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True)
    messages = Column(EncryptedJSON, nullable=False, default=list)  # [{"from": "participant"|"assistant", "text", "at"}]
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


FUNNEL_STEPS = ("started", "consented", "screened", "eligible", "booked", "attended")


class FunnelEvent(Base):
    """How far one conversation got: a step reached, or a question answered (``answered:<key>``).

    Anonymous: the conversation is an HMAC, and no answer is kept here. Each step counts once.
    """

    __tablename__ = "funnel_events"

    id = Column(Integer, primary_key=True)
    conversation = Column(String(64), nullable=False)
    step = Column(String(64), nullable=False)
    channel = Column(String(32), nullable=False)
    language = Column(String(8))
    at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("conversation", "step", name="uq_funnel_conversation_step"),)


HANDOFF_REASONS = ("asked", "crisis")
HANDOFF_STATUSES = ("waiting", "active", "closed")
HANDOFF_SENDERS = ("participant", "assistant", "staff")


class Handoff(Base):
    """A conversation handed to a person: the assistant is paused for the participant meanwhile.

    ``address`` is where a caseworker's reply goes on a channel that can send unasked (a
    Telegram chat id, a phone number); on the tablet and REST channels replies are collected by
    the participant's next request instead.
    """

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    participant_id = Column(ForeignKey("participants.id", ondelete="CASCADE"), nullable=False, index=True)
    reason = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default="waiting")
    channel = Column(String(32), nullable=False)
    language = Column(String(8), nullable=False)
    address = Column(EncryptedText)
    requested_at = Column(UTCDateTime, nullable=False, default=utcnow)
    taken_by = Column(String(100))
    taken_at = Column(UTCDateTime)
    closed_at = Column(UTCDateTime)
    closed_by = Column(String(100))  # a username, or "participant" when they went back to the questions

    participant = relationship("Participant", back_populates="handoffs")
    messages = relationship(
        "HandoffMessage", back_populates="handoff", cascade="all, delete-orphan", order_by="HandoffMessage.id"
    )

    __table_args__ = (
        CheckConstraint("reason IN ('asked', 'crisis')", name="reason"),
        CheckConstraint("status IN ('waiting', 'active', 'closed')", name="status"),
        Index("ix_handoffs_status_requested", "status", "requested_at"),
    )


class HandoffMessage(Base):
    """One message of a handed-over conversation, including what was said before the handoff."""

    __tablename__ = "handoff_messages"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    sender = Column(String(16), nullable=False)
    author = Column(String(100))  # the staff member's username
    text = Column(EncryptedText, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    before_handoff = Column(Boolean, nullable=False, default=False)
    # a staff message on a channel that collects replies: when the participant was shown it
    delivered_at = Column(UTCDateTime)

    handoff = relationship("Handoff", back_populates="messages")

    __table_args__ = (CheckConstraint("sender IN ('participant', 'assistant', 'staff')", name="sender"),)


CRISIS_CATEGORIES = ("suicide", "self_harm", "violence", "danger", "other")


class SafetyAlert(Base):
    """A message that showed a crisis. Caseworkers see open alerts first, until one acknowledges."""

    __tablename__ = "safety_alerts"

    id = Column(Integer, primary_key=True)
    participant_id = Column(ForeignKey("participants.id", ondelete="CASCADE"), nullable=False, index=True)
    referral_id = Column(ForeignKey("referrals.id", ondelete="SET NULL"))
    handoff_id = Column(ForeignKey("handoffs.id", ondelete="SET NULL"))
    category = Column(String(16), nullable=False)
    detected_by = Column(String(16), nullable=False)  # "phrase" or "nlu"
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    acknowledged_at = Column(UTCDateTime)
    acknowledged_by = Column(String(100))

    participant = relationship("Participant", back_populates="alerts")

    __table_args__ = (
        CheckConstraint(
            "category IN ('suicide', 'self_harm', 'violence', 'danger', 'other')", name="category"
        ),
    )


class TrackerEvent(Base):
    """The assistant's conversation events (Rasa's tracker), written by :mod:`bot.tracker`.

    ``conversation`` is an HMAC of Rasa's conversation id, never the id itself (a chat id or a
    phone number); ``data`` is the event, encrypted. Erasing a participant deletes their rows.
    """

    __tablename__ = "tracker_events"

    id = Column(Integer, primary_key=True)
    conversation = Column(String(64), nullable=False)
    type_name = Column(String(64), nullable=False)
    timestamp = Column(Float, nullable=False)
    data = Column(EncryptedText, nullable=False)

    __table_args__ = (
        Index("ix_tracker_events_conversation_id", "conversation", "id"),
        Index("ix_tracker_events_timestamp", "timestamp"),
    )
