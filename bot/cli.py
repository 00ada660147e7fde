"""The ``intake`` command line: database, activity sessions, demo data, referrals, running."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

import click
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot.config import Config
from bot.db import Database
from bot.db import migrate as migrations
from bot.channels.store import undelivered_counts
from bot.db.models import Activity, ActivitySession, OutboundMessage, Referral
from bot.db.types import utcnow
from bot.intake.audit import audit
from bot.intake.program import load_program
from bot.intake.referrals import export_csv, export_row, list_referrals


class Context:
    def __init__(self, database_url: Optional[str]) -> None:
        env = dict(os.environ)
        if database_url:
            env["DATABASE_URL"] = database_url
        self.config = Config.from_env(env)
        self._db: Optional[Database] = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.config.database_url)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()

    def local(self, value: str) -> datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(self.config.timezone))
        return parsed

    def show(self, when: datetime) -> str:
        return when.astimezone(ZoneInfo(self.config.timezone)).strftime("%Y-%m-%d %H:%M")


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", envvar="DATABASE_URL", help="SQLAlchemy URL (default: SQLite under var/).")
@click.pass_context
def main(ctx: click.Context, database_url: Optional[str]) -> None:
    """Intake assistant administration."""
    ctx.obj = Context(database_url)
    ctx.call_on_close(ctx.obj.close)


# -- database -------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Create and upgrade the database schema (Alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_ctx
def db_upgrade(obj: Context, revision: str) -> None:
    """Create the database or upgrade it to the newest schema."""
    migrations.upgrade(obj.config.database_url, revision)
    click.echo(f"database at revision {migrations.current_revision(obj.config.database_url)}")


@db.command("current")
@pass_ctx
def db_current(obj: Context) -> None:
    """Show the schema revision of the database."""
    click.echo(migrations.current_revision(obj.config.database_url) or "empty")


# -- activities and sessions ----------------------------------------------------------------

def _activity(session, code: Optional[str]) -> Activity:
    stmt = select(Activity).order_by(Activity.id)
    if code:
        stmt = stmt.where(Activity.code == code)
    activity = session.execute(stmt.limit(1)).scalar_one_or_none()
    if activity is None:
        raise click.ClickException(f"no activity {code!r}; add one with 'intake activities add'" if code else "no activity yet; run 'intake activities add' or 'intake demo load'")
    return activity


@main.group()
def activities() -> None:
    """Activities that sessions belong to."""


@activities.command("add")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--provider", required=True, help="The NGO that runs it.")
@click.option("--municipality", required=True)
@pass_ctx
def activities_add(obj: Context, code: str, name: str, provider: str, municipality: str) -> None:
    """Add an activity."""
    with obj.db.transaction() as session:
        activity = Activity(code=code, name=name, provider=provider, municipality=municipality)
        session.add(activity)
        session.flush()
        audit(session, "cli", "activity.created", "activity", activity.id)
        click.echo(f"activity {activity.id} {code}")


@activities.command("list")
@pass_ctx
def activities_list(obj: Context) -> None:
    """List activities."""
    with obj.db.transaction() as session:
        for a in session.execute(select(Activity).order_by(Activity.id)).scalars():
            click.echo(f"{a.id}\t{a.code}\t{a.name}\t{a.provider}\t{a.municipality}")


@main.group()
def sessions() -> None:
    """Sessions (dates) of an activity that participants book."""


@sessions.command("add")
@click.option("--activity", "activity_code", help="Activity code (default: the first activity).")
@click.option("--start", required=True, help="Local start time, e.g. '2026-12-01 10:00'.")
@click.option("--minutes", default=90, show_default=True, type=click.IntRange(1, 24 * 60))
@click.option("--place", required=True)
@click.option("--address", required=True)
@click.option("--capacity", required=True, type=click.IntRange(0, 1000))
@pass_ctx
def sessions_add(obj: Context, activity_code, start, minutes, place, address, capacity) -> None:
    """Add a session."""
    try:
        starts_at = obj.local(start)
    except ValueError as exc:
        raise click.BadParameter(f"not a date and time: {start!r}", param_hint="--start") from exc
    with obj.db.transaction() as session:
        activity = _activity(session, activity_code)
        s = ActivitySession(activity_id=activity.id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
                            place=place, address=address, capacity=capacity)
        session.add(s)
        session.flush()
        audit(session, "cli", "session.created", "session", s.id, capacity=capacity)
        click.echo(f"session {s.id} {obj.show(s.starts_at)} {place} ({capacity} seats)")


@sessions.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include past sessions.")
@pass_ctx
def sessions_list(obj: Context, show_all: bool) -> None:
    """List sessions with booked and free seats."""
    with obj.db.transaction() as session:
        stmt = select(ActivitySession).order_by(ActivitySession.starts_at)
        if not show_all:
            stmt = stmt.where(ActivitySession.starts_at > utcnow())
        click.echo("id\tstart\tplace\tcapacity\tbooked\tfree\twaitlisted")
        for s in session.execute(stmt.options(selectinload(ActivitySession.bookings))).scalars():
            waiting = sum(1 for b in s.bookings if b.status == "waitlisted")
            click.echo(f"{s.id}\t{obj.show(s.starts_at)}\t{s.place}\t{s.capacity}\t{s.seats_booked}\t{s.seats_free}\t{waiting}")


# -- demo data ------------------------------------------------------------------------------

def load_demo(session, config: Config, now: Optional[datetime] = None) -> int:
    """The programme's activity and intro sessions on the next four weekdays at 10:00."""
    program = load_program(config.program_file)
    a = program.activity
    activity = session.execute(select(Activity).where(Activity.code == a["code"])).scalar_one_or_none()
    if activity is None:
        activity = Activity(code=a["code"], name=a["name"], provider=a["provider"], municipality=a["municipality"])
        session.add(activity)
        session.flush()
    zone = ZoneInfo(config.timezone)
    day = (now or utcnow()).astimezone(zone).date() + timedelta(days=1)
    added = 0
    capacities = [8, 8, 1, 8]
    while added < len(capacities):
        if day.weekday() < 5:
            start = datetime.combine(day, time(10, 0), tzinfo=zone)
            session.add(ActivitySession(
                activity_id=activity.id, starts_at=start, ends_at=start + timedelta(minutes=90),
                place="Träffpunkten Gustavsberg", address="Odelbergs väg 11, Gustavsberg",
                capacity=capacities[added],
            ))
            added += 1
        day += timedelta(days=1)
    session.flush()
    audit(session, "cli", "demo.loaded", "activity", activity.id, sessions=added)
    return added


@main.group()
def demo() -> None:
    """Demo data for trying the assistant."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Only when there is no upcoming session.")
@pass_ctx
def demo_load(obj: Context, if_empty: bool) -> None:
    """Add the programme's activity and four intro sessions on the coming weekdays."""
    with obj.db.transaction() as session:
        if if_empty:
            upcoming = session.execute(select(func.count(ActivitySession.id)).where(ActivitySession.starts_at > utcnow())).scalar_one()
            if upcoming:
                click.echo(f"{upcoming} upcoming sessions already; nothing added")
                return
        added = load_demo(session, obj.config)
    click.echo(f"added {added} demo sessions")
    demo_account(obj)


def demo_account(obj: Context) -> None:
    """A staff account to try the tablet chat with, on a fresh local install (never in production)."""
    import secrets as _secrets

    from bot.db.models import StaffUser
    from bot.web.users import create_user

    if obj.config.production:
        return
    with obj.db.transaction() as session:
        if session.execute(select(func.count(StaffUser.id))).scalar_one():
            return
        accounts = [("demo", "Demo (NGO staff)", "ngo_staff"), ("demo-caseworker", "Demo (handläggare)", "caseworker")]
        made = []
        for username, name, role in accounts:
            password = _secrets.token_urlsafe(9)
            create_user(session, username, name, role, password)
            made.append(f"username: {username}\npassword: {password}\nrole: {role}\n")
    path = obj.config.data_dir / "demo-account.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(made), encoding="utf-8")
    path.chmod(0o600)
    click.echo(f"created the staff account 'demo' for the tablet chat and 'demo-caseworker' for the dashboard; "
               f"their passwords are in {path}")


# -- referrals ------------------------------------------------------------------------------

@main.group()
def referrals() -> None:
    """Screened referrals."""


@referrals.command("list")
@click.option("--status", type=click.Choice(["new", "contacted", "accepted", "started", "declined", "withdrawn"]))
@pass_ctx
def referrals_list(obj: Context, status: Optional[str]) -> None:
    """List referrals, urgent first, then by priority."""
    with obj.db.transaction() as session:
        click.echo("id\tcreated\tstatus\turgent\tpriority\tlanguage\tchannel\tscreening\tbarriers\tbooking"
                   "\tundelivered")
        found = list_referrals(session, status)
        undelivered = undelivered_counts(session, [r.participant.pseudonym for r in found])
        for r in found:
            row = export_row(r)
            booking = row["booking"]
            when = f"{booking['status']} {obj.show(datetime.fromisoformat(booking['session_start']))}" if booking else "-"
            click.echo(f"{r.id}\t{obj.show(r.created_at)}\t{r.status}\t{'yes' if r.urgent else 'no'}\t{r.priority}\t"
                       f"{r.language}\t{r.channel}\t{r.screening}\t{','.join(r.barriers) or '-'}\t{when}"
                       f"\t{undelivered.get(r.participant.pseudonym, 0)}")


@referrals.command("show")
@click.argument("referral_id", type=int)
@pass_ctx
def referrals_show(obj: Context, referral_id: int) -> None:
    """Show one referral with its screening answers."""
    with obj.db.transaction() as session:
        r = session.get(Referral, referral_id)
        if r is None:
            raise click.ClickException(f"no referral {referral_id}")
        audit(session, "cli", "referral.viewed", "referral", r.id)
        row = export_row(r)
        row["phq4"] = {"score": r.phq4_score, "band": r.phq4_band} if r.phq4_band else None
        row["messages_not_delivered"] = [
            {"at": m.created_at.isoformat(), "channel": m.channel, "error": m.last_error}
            for m in session.execute(
                select(OutboundMessage)
                .where(OutboundMessage.pseudonym == r.participant.pseudonym, OutboundMessage.status == "failed")
                .order_by(OutboundMessage.id)
            ).scalars()
        ]
        row["answers"] = [
            {"question": a.question_key, "value": a.value, "free_text": a.free_text, "skipped": a.skipped}
            for a in r.answers
        ]
        click.echo(json.dumps(row, ensure_ascii=False, indent=2))



@referrals.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--status", help="Only referrals with this status.")
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-", help="File (default: standard output).")
@pass_ctx
def referrals_export(obj: Context, fmt: str, status: Optional[str], output) -> None:
    """Export referrals (no health answers, no free text, no contact details)."""
    with obj.db.transaction() as session:
        rows = [export_row(r) for r in list_referrals(session, status)]
        audit(session, "cli", "referrals.exported", "referral", None, count=len(rows), format=fmt)
    if fmt == "json":
        output.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    output.write(export_csv(rows))


# -- Telegram -------------------------------------------------------------------------------

@main.group()
def telegram() -> None:
    """Telegram: set the webhook and commands, or poll (no public HTTPS address needed)."""


def _telegram_settings() -> tuple:
    token = os.environ.get("TELEGRAM_BOT_TOKEN")
    if not token:
        raise click.ClickException("set TELEGRAM_BOT_TOKEN (from @BotFather)")
    return token, os.environ.get("TELEGRAM_API_BASE") or "https://api.telegram.org"


@telegram.command("setup")
@click.option("--url", envvar="TELEGRAM_WEBHOOK_URL",
              help="Public HTTPS address of /webhooks/telegram/webhook; without it only the commands are set.")
def telegram_setup(url: Optional[str]) -> None:
    """Set the webhook (with TELEGRAM_WEBHOOK_SECRET) and the command menu in each language."""
    import asyncio

    from telegram import Bot

    from bot.channels.telegram_admin import setup

    token, api_base = _telegram_settings()
    secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET")
    if url and not secret:
        raise click.ClickException("set TELEGRAM_WEBHOOK_SECRET: Telegram sends it with every update")

    async def go() -> list:
        async with Bot(token, base_url=f"{api_base.rstrip('/')}/bot") as bot:
            return await setup(bot, url, secret or "")

    for line in asyncio.run(go()):
        click.echo(line)


@telegram.command("remove-webhook")
def telegram_remove_webhook() -> None:
    """Delete the webhook (pending updates are kept), e.g. before polling."""
    import asyncio

    from telegram import Bot

    token, api_base = _telegram_settings()

    async def go() -> None:
        async with Bot(token, base_url=f"{api_base.rstrip('/')}/bot") as bot:
            await bot.delete_webhook(drop_pending_updates=False)

    asyncio.run(go())
    click.echo("webhook removed")


@telegram.command("poll")
@click.option("--webhook", default="http://127.0.0.1:5005/webhooks/telegram/webhook", show_default=True,
              help="Our Telegram webhook, where fetched updates are handed on.")
@click.option("--timeout", default=10, show_default=True, help="Long-polling timeout in seconds.")
def telegram_poll(webhook: str, timeout: int) -> None:
    """Fetch updates from Telegram and hand them to the running assistant (`intake run` starts this)."""
    import logging

    from bot.channels.telegram_admin import main as poll

    token, api_base = _telegram_settings()
    secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET")
    if not secret:
        raise click.ClickException("set TELEGRAM_WEBHOOK_SECRET (the same as the assistant's)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    poll(token, api_base, webhook, secret, timeout=timeout)


# -- staff users ----------------------------------------------------------------------------

@main.group()
def users() -> None:
    """Staff accounts for the tablet chat and the dashboard (passwords stored as Argon2 hashes)."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Name shown to colleagues.")
@click.option("--role", type=click.Choice(["caseworker", "ngo_staff", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (scripts).")
@pass_ctx
def users_add(obj: Context, username: str, display_name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account."""
    from bot.web.passwords import WeakPassword
    from bot.web.users import UserError, create_user

    password = _read_password(password_stdin)
    try:
        with obj.db.transaction() as session:
            user = create_user(session, username, display_name, role, password)
            click.echo(f"user {user.username} ({user.role}) created")
    except (UserError, WeakPassword) as exc:
        raise click.ClickException(str(exc)) from exc


@users.command("list")
@pass_ctx
def users_list(obj: Context) -> None:
    """List staff accounts."""
    from bot.web.users import list_users

    with obj.db.transaction() as session:
        click.echo("username\trole\tactive\tname\tlast sign-in")
        for u in list_users(session):
            last = obj.show(u.last_login_at) if u.last_login_at else "-"
            click.echo(f"{u.username}\t{u.role}\t{'yes' if u.active else 'no'}\t{u.display_name}\t{last}")


@users.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True)
@pass_ctx
def users_password(obj: Context, username: str, password_stdin: bool) -> None:
    """Set a new password."""
    from bot.web.passwords import WeakPassword
    from bot.web.users import find_user, set_password

    password = _read_password(password_stdin)
    with obj.db.transaction() as session:
        user = find_user(session, username)
        if user is None:
            raise click.ClickException(f"no user {username}")
        try:
            set_password(session, user, password)
        except WeakPassword as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo("password set")


@users.command("disable")
@click.argument("username")
@pass_ctx
def users_disable(obj: Context, username: str) -> None:
    """Stop an account from signing in (its history stays)."""
    from bot.web.users import find_user, set_active

    with obj.db.transaction() as session:
        user = find_user(session, username)
        if user is None:
            raise click.ClickException(f"no user {username}")
        set_active(session, user, False)
    click.echo(f"user {username} disabled")


# -- privacy --------------------------------------------------------------------------------

@main.group()
def keys() -> None:
    """Encryption keys of health answers and free text (INTAKE_ENCRYPTION_KEYS)."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key (put it first in INTAKE_ENCRYPTION_KEYS, then run `keys rotate`)."""
    from bot.crypto import generate_key

    click.echo(generate_key())


@keys.command("rotate")
@pass_ctx
def keys_rotate(obj: Context) -> None:
    """Re-encrypt every encrypted value with the first key of INTAKE_ENCRYPTION_KEYS."""
    from bot.crypto import keyring
    from bot.db.rotation import rotate_keys

    ring = keyring(obj.config)
    with obj.db.transaction() as session:
        counts = rotate_keys(session, ring)
        audit(session, "cli", "keys.rotated", "database", None, values=sum(counts.values()))
    for column, count in counts.items():
        click.echo(f"{column}\t{count}")
    click.echo(f"{sum(counts.values())} values re-encrypted with the first of {len(ring.keys)} key(s); "
               "the other keys can now be removed")


@main.group()
def privacy() -> None:
    """Erasure and retention (docs/privacy.md)."""


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="Count, erase nothing.")
@pass_ctx
def privacy_purge(obj: Context, dry_run: bool) -> None:
    """Erase what is older than the retention period (program.yml: retention_months)."""
    from datetime import timedelta

    from bot.intake.privacy import purge_expired

    prog = load_program(obj.config.program_file)
    with obj.db.transaction() as session:
        purged = purge_expired(
            session,
            retention=timedelta(days=round(prog.retention_months * 30.44)),
            unlinked_retention=timedelta(days=prog.unlinked_retention_days),
            dry_run=dry_run,
        )
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb} {purged.participants} participant(s) kept over {prog.retention_months} months; "
               f"{purged.tracker_events} conversation events, {purged.messages} message records")


@privacy.command("erase")
@click.argument("referral_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask.")
@pass_ctx
def privacy_erase(obj: Context, referral_id: int, yes: bool) -> None:
    """Erase the participant of a referral, with everything stored about them."""
    from bot.intake.privacy import erase_participant

    if not yes:
        click.confirm(f"Erase the participant of referral {referral_id} and all their data?", abort=True)
    with obj.db.transaction() as session:
        referral = session.get(Referral, referral_id)
        if referral is None:
            raise click.ClickException(f"no referral {referral_id}")
        erased = erase_participant(session, referral.participant, actor="cli")
    click.echo(f"erased participant {erased.participant_id}: {erased.referrals} referral(s), "
               f"{erased.tracker_events} conversation events")


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def web_command(host: str, port: int) -> None:
    """Serve the web apps (the tablet chat) with waitress."""
    from bot.logs import configure
    from bot.web import serve

    configure("web")
    serve(host=host, port=port)


@main.group()
def scheduler() -> None:
    """Reminders, waiting-list offers and follow-ups (see bot/scheduler.py)."""


@scheduler.command("run")
@click.option("--interval", default=30.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds between looks for what is due.")
@click.option("--health-port", type=click.IntRange(0, 65535), default=0,
              help="Serve GET /healthz on this port (0: not served).")
@click.option("--health-host", default="127.0.0.1", show_default=True)
@pass_ctx
def scheduler_run(obj: Context, interval: float, health_port: int, health_host: str) -> None:
    """Run the scheduler until stopped (Ctrl-C or SIGTERM)."""
    import signal
    import threading

    from bot.logs import configure
    from bot.scheduler import Scheduler, serve_health

    configure("scheduler")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler = Scheduler.from_config(obj.config)
    if health_port:
        serve_health(scheduler, health_port, interval, health_host)
    try:
        scheduler.serve(interval, stop)
    except KeyboardInterrupt:
        pass


@scheduler.command("tick")
@pass_ctx
def scheduler_tick(obj: Context) -> None:
    """Do what is due now, once, and say what was done."""
    from bot.scheduler import Scheduler

    tick = Scheduler.from_config(obj.config).run_once()
    click.echo(f"sent {len(tick.sent)}, held for staff {len(tick.held)}, dropped {len(tick.dropped)}, "
               f"offers made {len(tick.offered)}, offers expired {len(tick.expired)}"
               + (" (quiet hours: nothing sent)" if tick.quiet else ""))


# -- running --------------------------------------------------------------------------------

@main.command("prod")
@click.option("--instances", default=2, show_default=True, type=click.IntRange(1, 8),
              help="Rasa instances and action servers, each.")
@click.option("--port", default=8080, show_default=True, type=int, help="Rasa, through nginx.")
@click.option("--actions-port", default=5050, show_default=True, type=int, help="The action servers, through nginx.")
@click.option("--rasa-base", default=5105, show_default=True, type=int, help="The first Rasa instance's own port.")
@click.option("--actions-base", default=5155, show_default=True, type=int, help="The first action server's port.")
@click.option("--web-port", default=8000, show_default=True, type=int)
@click.option("--scheduler-port", default=8090, show_default=True, type=int, help="The scheduler's /healthz.")
@click.option("--model", default="models/intake.tar.gz", show_default=True)
def prod_command(instances: int, port: int, actions_port: int, rasa_base: int, actions_base: int, web_port: int,
                 scheduler_port: int, model: str) -> None:
    """The production profile: nginx, several Rasa instances and action servers, PostgreSQL, Redis."""
    from bot.prod import Profile, run_production

    sys.exit(run_production(Profile(instances=instances, port=port, actions_port=actions_port, rasa_base=rasa_base,
                                    actions_base=actions_base, web_port=web_port,
                                    scheduler_health_port=scheduler_port, model=model)))


@main.command("run")
@click.option("--rasa-port", default=5005, show_default=True, type=int)
@click.option("--actions-port", default=5055, show_default=True, type=int)
@click.option("--model", default="models", show_default=True, help="Model file or directory.")
@click.option("--web-port", default=8000, show_default=True, type=int, help="The tablet chat (0: not started).")
@click.option("--debug", is_flag=True, help="Rasa's debug log (dialogue predictions).")
def run_command(rasa_port: int, actions_port: int, model: str, web_port: int, debug: bool) -> None:
    """Start the Rasa server with its channels, the action server and the web apps; Ctrl-C stops all."""
    from bot.run import run_all

    sys.exit(run_all(rasa_port=rasa_port, actions_port=actions_port, model=model, web_port=web_port, debug=debug))


if __name__ == "__main__":  # pragma: no cover
    main()
