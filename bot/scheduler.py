"""The scheduler: sends reminders, waiting-list offers and follow-ups when they fall due.

One process (``intake scheduler``), or several: every step is safe to run twice at once.
Each tick, as one unit of work per step:

1. offers nobody answered in time expire, and their seats go to the next in the queue;
2. free seats of sessions with a waiting list are offered to it (a capacity raised by staff);
3. due messages are claimed one at a time (one conditional UPDATE: never sent twice) and handed
   to the participant's channel: the outbox of Telegram and the SMS gateways, which retries and
   records delivery. The tablet and the REST channel cannot be written to unasked: their
   messages are *held* and shown to staff on the dashboard instead, who tell the participant.

Nothing is sent in the quiet hours (``program.yml``); what falls due then waits for the
morning, unless it is too late to be useful by then (a reminder shortly before the session).
The clock is a parameter, so that tests can move time.
"""

from __future__ import annotations

import logging
import threading
import time as systime
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable, Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels import PUSH_CHANNELS, SMS_CHANNELS, store
from bot.channels.sms import render as render_sms
from bot.channels.sms_text import count_segments
from bot.config import Config
from bot.db import Database
from bot.db.models import Booking, BookingMessage, Referral
from bot.db.types import utcnow
from bot.i18n import Catalog, Catalogs, format_day, load_catalogs, with_direction
from bot.intake import booking as seats
from bot.intake import reminders
from bot.intake.program import Program, load_program

logger = logging.getLogger(__name__)

INTERVAL = 30.0  # seconds between ticks

# the buttons of each message: (catalogue key of the title, payload)
BUTTONS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    reminders.REMINDER: (("button_will_come", "/confirm_booking"), ("button_change_time", "/reschedule_booking"),
                         ("button_cancel_booking", "/cancel_booking")),
    # a yes or no answers the latest of these messages (actions/lifecycle.py, ActionYesNo)
    reminders.OFFER: (("button_take_seat", "/affirm"), ("button_decline_seat", "/deny")),
    reminders.OFFER_EXPIRED: (("button_new_time", "/reschedule_booking"), ("button_no_thanks", "/deny")),
    reminders.NO_SHOW: (("button_new_time", "/reschedule_booking"), ("button_no_thanks", "/deny")),
}


@dataclass
class Tick:
    """What one tick did."""

    expired: List[int] = field(default_factory=list)
    offered: List[int] = field(default_factory=list)
    sent: List[int] = field(default_factory=list)
    held: List[int] = field(default_factory=list)
    dropped: List[int] = field(default_factory=list)  # cancelled or skipped: no longer true or too late
    quiet: bool = False


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: List[Dict[str, str]]


def base_kind(kind: str) -> str:
    return reminders.REMINDER if reminders.is_reminder(kind) else kind


def render(message: BookingMessage, booking: Booking, catalog: Catalog, rules: seats.BookingRules,
           program: Program, now: datetime) -> Rendered:
    """The message's text and buttons in the participant's language."""
    target = booking.session
    when = format_day(catalog, target.starts_at, rules.timezone)
    values = {"place": target.place, "address": target.address, **when}
    kind = base_kind(message.kind)
    if kind == reminders.REMINDER:
        same_day = format_day(catalog, now, rules.timezone)["day"] == when["day"]
        text = catalog.text("reminder_today" if same_day else "reminder", **values)
    elif kind == reminders.OFFER:
        deadline = format_day(catalog, booking.offer_expires_at or now, rules.timezone)
        text = catalog.text("offer_seat", deadline_day=deadline["day"], deadline_time=deadline["time"], **values)
    else:
        text = catalog.text(kind)
    buttons = [{"title": catalog.text(key), "payload": payload} for key, payload in BUTTONS[kind]]
    return Rendered(with_direction(catalog, text), buttons)


def still_true(session: Session, message: BookingMessage, booking: Booking, rules: seats.BookingRules,
               now: datetime) -> Optional[str]:
    """Why the message must not go now (``"cancelled"`` / ``"skipped"``), or None."""
    referral = booking.referral
    if referral is None or referral.status == "withdrawn":
        return "cancelled"
    kind = base_kind(message.kind)
    if kind == reminders.REMINDER:
        if booking.status != seats.BOOKED:
            return "cancelled"
        if booking.session.starts_at - now < rules.too_late:
            return "skipped"
        # a later reminder is due as well (the scheduler was stopped, or the quiet hours): one is enough
        later = session.execute(
            select(BookingMessage.id).where(
                BookingMessage.booking_id == booking.id, BookingMessage.kind.like(reminders.REMINDER + ":%"),
                BookingMessage.due_at > message.due_at, BookingMessage.due_at <= now,
            ).limit(1)
        ).first()
        if later is not None:
            return "skipped"
    elif kind == reminders.OFFER:
        if booking.status != seats.OFFERED or booking.offer_expires_at is None or booking.offer_expires_at <= now:
            return "cancelled"
    elif kind in (reminders.OFFER_EXPIRED, reminders.NO_SHOW):
        # a follow-up offering a new time is moot once the participant has one
        if seats.active_booking(session, booking.referral_id) is not None:
            return "cancelled"
    return None


class Scheduler:
    def __init__(self, database: Database, catalogs: Catalogs, program: Program,
                 clock: Callable[[], datetime] = utcnow, timezone: str = "Europe/Stockholm") -> None:
        self.database = database
        self.catalogs = catalogs
        self.program = program
        self.clock = clock
        self.rules = replace(program.booking, timezone=timezone)
        self.last_good_tick: Optional[float] = None  # time.monotonic() of the last tick that worked

    @classmethod
    def from_config(cls, config: Config, clock: Callable[[], datetime] = utcnow) -> "Scheduler":
        return cls(Database(config.database_url), load_catalogs(config.locales_dir),
                   load_program(config.program_file), clock, config.timezone)

    def run_once(self) -> Tick:
        now = self.clock()
        tick = Tick()
        with self.database.transaction() as session:
            tick.expired = seats.expire_offers(session, now, self.rules)
        with self.database.transaction() as session:
            tick.offered = seats.promote_all(session, now, self.rules)
        if self.rules.quiet(now):
            tick.quiet = True
            return tick
        tried = set()
        while True:  # in batches, until nothing due is left (a failed row waits for its claim to time out)
            with self.database.transaction() as session:
                due = [i for i in reminders.due_ids(session, now) if i not in tried]
            if not due:
                return tick
            for message_id in due:
                tried.add(message_id)
                try:
                    with self.database.transaction() as session:
                        outcome = self.deliver(session, message_id, now)
                except Exception:  # noqa: BLE001 - one bad row must not stop the others; claimed again later
                    logger.exception("scheduler: booking message %s failed", message_id)
                    continue
                if outcome == "sent":
                    tick.sent.append(message_id)
                elif outcome == "held":
                    tick.held.append(message_id)
                elif outcome in ("cancelled", "skipped"):
                    tick.dropped.append(message_id)

    def deliver(self, session: Session, message_id: int, now: datetime) -> str:
        """Claim one due message and hand it to its channel; returns what became of it."""
        message = reminders.claim(session, message_id, now)
        if message is None:
            return "not due"
        booking = session.get(Booking, message.booking_id)
        reason = still_true(session, message, booking, self.rules, now)
        if reason is not None:
            reminders.finish(session, message, reason, now)
            logger.info("scheduler: booking message %s (%s) %s", message.id, message.kind, reason)
            return reason
        referral: Referral = booking.referral
        catalog = self.catalogs.get(referral.language)
        channel = referral.channel
        if channel in SMS_CHANNELS:
            catalog = catalog.for_sms()
        rendered = render(message, booking, catalog, self.rules, self.program, now)
        if channel not in PUSH_CHANNELS or not referral.contact_address:
            reminders.finish(session, message, "held", now)
            logger.info("scheduler: booking message %s (%s) held for staff (%s)", message.id, message.kind, channel)
            return "held"
        pseudonym = referral.participant.pseudonym
        if channel in SMS_CHANNELS:
            body, options = render_sms([{"text": rendered.text, "buttons": rendered.buttons}])
            store.save_choices(session, pseudonym, options)  # a reply "1" means the first button
            segments = count_segments(body)
            outbound = store.enqueue(session, channel, pseudonym, referral.contact_address, body,
                                     segments.parts, segments.encoding)
        else:
            outbound = store.enqueue(session, channel, pseudonym, referral.contact_address, rendered.text,
                                     buttons=rendered.buttons)
        reminders.finish(session, message, "sent", now, outbound_id=outbound)
        logger.info("scheduler: booking message %s (%s) queued on %s", message.id, message.kind, channel)
        return "sent"

    def serve(self, interval: float = INTERVAL, stop: Optional[threading.Event] = None) -> None:
        """Tick until stopped. A failed tick (the database away) is retried at the next one."""
        stop = stop or threading.Event()
        logger.info("scheduler: running, a tick every %.0f s", interval)
        while not stop.is_set():
            started = systime.monotonic()
            try:
                tick = self.run_once()
                self.last_good_tick = systime.monotonic()
                if tick.sent or tick.held or tick.expired or tick.offered:
                    logger.info("scheduler: sent %d, held %d, offers made %d, expired %d", len(tick.sent),
                                len(tick.held), len(tick.offered), len(tick.expired))
            except Exception:  # noqa: BLE001
                logger.exception("scheduler: a tick failed")
            stop.wait(max(0.0, interval - (systime.monotonic() - started)))


def serve_health(scheduler: Scheduler, port: int, interval: float, host: str = "0.0.0.0"):
    """``GET /healthz``: 200 while the last good tick is recent (three intervals), else 503.

    A small HTTP server in a thread, for a load balancer or Kubernetes' liveness probe.
    Returns the server (``shutdown()`` stops it).
    """
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path.split("?")[0] not in ("/healthz", "/health"):
                self.send_error(404)
                return
            last = scheduler.last_good_tick
            age = None if last is None else systime.monotonic() - last
            good = age is not None and age <= 3 * interval
            body = json.dumps({"status": "ok" if good else "unavailable",
                               "seconds_since_last_tick": None if age is None else round(age, 1)}).encode()
            self.send_response(200 if good else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:  # probes every few seconds: not worth a log line
            return

    server = ThreadingHTTPServer((host, port), Health)
    threading.Thread(target=server.serve_forever, name="scheduler-health", daemon=True).start()
    return server


def held_messages(session: Session, limit: int = 100) -> List[BookingMessage]:
    """Messages for participants the assistant cannot write to: for staff to pass on."""
    return list(session.execute(
        select(BookingMessage).where(BookingMessage.status == "held")
        .order_by(BookingMessage.sent_at.desc()).limit(limit)
    ).scalars())
