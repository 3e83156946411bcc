"""Command-line tools: flask --app wsgi audit|calendar|demo ..."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

audit_cli = AppGroup("audit", help="Check the tamper-evident record.")
calendar_cli = AppGroup("calendar", help="The working-day calendar.")
demo_cli = AppGroup("demo", help="Demo data.")
deadlines_cli = AppGroup("deadlines", help="The clocks and their reminders.")
outbox_cli = AppGroup("outbox", help="Notifications waiting to be delivered.")


@deadlines_cli.command("sweep")
def deadlines_sweep():
    """Run one sweep now and print what it did as counts."""
    from .services.sweep import sweep

    counts = sweep()
    if not counts:
        click.echo("nothing due")
    for key, n in sorted(counts.items()):
        click.echo(f"{key}: {n}")


@outbox_cli.command("status")
def outbox_status():
    """Pending, sent and failed outbox rows by channel, and the last sweep."""
    from .services.worker_status import snapshot

    snap = snapshot()
    for channel, counts in sorted(snap["outbox"].items()):
        click.echo(f"{channel}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if not snap["outbox"]:
        click.echo("outbox empty")
    last = snap["last_sweep"]
    click.echo(f"last sweep: {last['finished_at']} {last['counts']}" if last else "last sweep: never")
    depths = snap["queue_depths"]
    click.echo("queue depth: " + (", ".join(f"{k} {v}" for k, v in depths.items()) if depths is not None
                                  else "unavailable"))
    click.echo(f"retrying: {snap['retrying_count']}; handed out again after a lost lease and sent: "
               f"{snap['redelivered']}")


@audit_cli.command("verify")
def audit_verify():
    """Exit 0 when every ticket's chain holds, 1 naming each broken ticket and event."""
    from .audit import verify_all
    from .services.digest import record_run
    from .timeutil import now

    started = now()
    checked, breaks = verify_all()
    record_run("cli", started, checked, breaks)  # the audit page shows when it last ran
    for b in breaks:
        click.echo(f"BROKEN {b}")
    click.echo(f"{checked} tickets checked, {len(breaks)} broken")
    sys.exit(1 if breaks else 0)


@audit_cli.command("rotate-key")
def audit_rotate_key():
    """Start every chain's segment under AUDIT_KEY (a key_rotated event); exit 1 if a chain ends under an unknown key."""
    from .audit import keyring, rotate_all

    rotated, unknown = rotate_all()
    for number in unknown:
        click.echo(f"UNKNOWN KEY {number}: its chain ends under a key that is neither AUDIT_KEY nor retired")
    click.echo(f"{rotated} chains rotated to key {keyring().current_id}, {len(unknown)} under an unknown key")
    sys.exit(1 if unknown else 0)


@audit_cli.command("digest")
@click.option("--date", "day", default=None, help="The Shanghai day, YYYY-MM-DD (default: yesterday).")
def audit_digest(day):
    """Recompute a day's digest from the events: exit 0 when it matches the kept one, 1 when not, 2 if none kept."""
    from datetime import date

    from .services.digest import check_digest, yesterday

    try:
        when = date.fromisoformat(day) if day else yesterday()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--date")
    status, row, digest, n = check_digest(when)
    if status == "missing":
        click.echo(f"{when}: no digest kept for this day (recomputed {digest}, {n} tickets)")
        sys.exit(2)
    if status == "mismatch":
        click.echo(f"MISMATCH {when}: kept {row.digest} ({row.tickets} tickets), "
                   f"recomputed {digest} ({n} tickets): the record of {when} was rewritten")
        sys.exit(1)
    click.echo(f"{when}: matches the kept digest {digest} ({n} tickets)")
    sys.exit(0)


@calendar_cli.command("seed")
@click.option("--from-year", default=2020, show_default=True)
def calendar_seed(from_year: int):
    """Load every year chinese-calendar knows (years already loaded are kept)."""
    from .services.calendar import seed_known_years

    for year, rows in seed_known_years(from_year).items():
        click.echo(f"{year}: {rows} exception days loaded" if rows else f"{year}: already loaded")


@calendar_cli.command("load")
@click.option("--year", required=True, type=click.IntRange(2000, 2100), help="The year of the schedule.")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The schedule as .csv or .xlsx (columns kind, from, to, name; see README.md).")
def calendar_load(year: int, path: str):
    """Load the State Council's published schedule for a year; every open deadline it moves is recomputed."""
    from .services.errors import InvalidInput
    from .services.schedule import ScheduleRefused, load_schedule
    from .services.schedule_files import read_schedule

    from flask_babel import force_locale

    with open(path, "rb") as f:
        data = f.read()
    # English, like every line of the command line (the admin page says the same in the reader's language).
    with force_locale("en"):
        try:
            result = load_schedule(year, read_schedule(path, data), "file", None)
        except ScheduleRefused as e:
            for bad in e.rows:
                for reason in bad.reasons:
                    click.echo(f"{bad.where}: {reason}", err=True)
            raise click.ClickException(str(e.message))
        except InvalidInput as e:
            raise click.ClickException(str(e.message))
    click.echo(f"{year}: loaded from {path}; {result.written} days differ from Monday to Friday; "
               f"{len(result.changed)} days changed status; {result.moved} open deadlines recomputed")


@calendar_cli.command("due")
@click.option("--start", required=True, help='Shanghai wall-clock time the clock starts, e.g. "2026-09-30 16:00".')
@click.option("--days", required=True, type=click.IntRange(1, 365), help="The limit in working days.")
def calendar_due(start: str, days: int):
    """Print the due time the app would set for a clock started then, and whether it is provisional."""
    from datetime import datetime

    from .provisional import note_text
    from .timeutil import from_local
    from .views_common import fmt_due
    from .workdays import WorkCalendar

    try:
        local = datetime.fromisoformat(start.strip())
    except ValueError:
        raise click.BadParameter('use "YYYY-MM-DD HH:MM" (Asia/Shanghai)', param_hint="--start")
    if local.tzinfo is not None or not 2000 <= local.year <= 2100:
        raise click.BadParameter("a Shanghai wall-clock time between 2000 and 2100, without an offset",
                                 param_hint="--start")
    # The same calendar and the same computation as services/clocks.start_clock.
    d = WorkCalendar.load().deadline(from_local(local), days)
    click.echo(f"started: {local:%Y-%m-%d %H:%M} Asia/Shanghai, limit {days} working days")
    click.echo(f"due: {fmt_due(d.due_at)} Asia/Shanghai")
    click.echo(f"yellow from: {fmt_due(d.yellow_at)}")
    click.echo(f"red for 3 days from: {fmt_due(d.red3_at)}")
    if d.provisional_years:
        # English, like every line of this command; the app shows the same words translated.
        from flask_babel import force_locale

        with force_locale("en"):
            click.echo(note_text(d.provisional_years))
    else:
        click.echo("official: every year it touches has its schedule loaded")


BULK_ABOVE = 5_000  # up to this many tickets the demo is played through the services; above it, loaded in bulk


@demo_cli.command("seed")
@click.option("--tickets", default=200, show_default=True)
@click.option("--bulk", "use_bulk", is_flag=True, help=f"Load the history in bulk (always above {BULK_ABOVE:,}).")
@click.option("--per-day", type=int, default=None,
              help="Bulk: tickets filed a day (default: N/60, between 20 and 1,000).")
def demo_seed(tickets: int, use_bulk: bool, per_day: int | None):
    """Build the demo park through the real services under a controllable clock, or in bulk for large sizes."""
    from .demo import seed, seed_bulk

    if use_bulk or tickets > BULK_ABOVE:
        seed_bulk(tickets, per_day=per_day or min(1_000, max(20, tickets // 60)))
    else:
        seed(tickets)


@demo_cli.command("is-empty")
def demo_is_empty():
    """Exit 0 when the database has no users yet."""
    from .extensions import db
    from .models import User

    sys.exit(0 if db.session.scalar(db.select(User.id).limit(1)) is None else 1)


def init_app(app: Flask) -> None:
    for group in (audit_cli, calendar_cli, demo_cli, deadlines_cli, outbox_cli):
        app.cli.add_command(group)
    app.cli.add_command(meeting_cli)


meeting_cli = AppGroup("meeting", help="The weekly meeting list.")


@meeting_cli.command("agenda")
@click.option("--week", default=None, help="ISO week, e.g. 2026-W48 (default: this week).")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False), help="The .xlsx file to write.")
def meeting_agenda(week: str | None, output: str):
    """Write a week's meeting list as XLSX, building the list first if it does not exist yet."""
    from .services.errors import InvalidInput
    from .services.meeting import build_list, get_list, snapshot, week_of
    from .services.meeting_xlsx import workbook_bytes
    from .timeutil import now
    from .views_common import fmt_time

    week = week or week_of(now())
    try:
        built = get_list(week) is None
        ml = build_list(week)
    except InvalidInput as e:
        raise click.ClickException(str(e.message))
    with open(output, "wb") as f:
        f.write(workbook_bytes(snapshot(ml)))
    counts = snapshot(ml)["counts"]
    click.echo(f"{week}: {'built now' if built else 'built ' + fmt_time(ml.built_at) + ' (Asia/Shanghai)'}; "
               f"{counts['open']} open, {counts['overdue']} overdue; written to {output}")


# --- the rates report (oversight issue) -----------------------------------------------

report_cli = AppGroup("report", help="Reports: the rates of DESIGN.md, Measures.")


@report_cli.command("rates")
@click.option("--from", "first", required=True, help="First day (Asia/Shanghai), e.g. 2026-10-01.")
@click.option("--to", "last", required=True, help="Last day, included, e.g. 2026-10-31.")
@click.option("--by", type=click.Choice(["department", "official", "category", "week", "month", "total"]),
              default="total", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file (required for xlsx).")
@click.option("--locale", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the names and notes.")
def report_rates(first, last, by, fmt, output, locale):
    """Print every numerator and denominator of the rates for a period, one row per unit and a total."""
    from flask_babel import force_locale

    from .services.errors import InvalidInput
    from .services.rates import compute, export, parse_period

    if fmt == "xlsx" and not output:
        raise click.UsageError("--format xlsx needs --output FILE")
    with force_locale(locale):
        try:
            period = parse_period(first, last)
        except InvalidInput as exc:
            raise click.UsageError("; ".join(f"--{k}: {v}" for k, v in exc.errors.items()))
        report = compute(period, by, locale=locale)
        data = {"json": export.to_json, "csv": export.to_csv, "xlsx": export.to_xlsx}[fmt](report)
        hidden = export.hidden_note(report) if report.hidden else ""
    if output:
        with open(output, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        click.echo(f"written: {output}", err=True)
    else:
        click.echo(data, nl=not data.endswith("\n"))
    if hidden:
        click.echo(hidden, err=True)


_init_app_before_report = init_app


@click.command("backup")
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The archive to write (tar.gz): the database, the uploaded files and a manifest.")
@with_appcontext
def backup_command(output: str):
    """Back up the database (consistent while the app runs) and the uploads into one archive."""
    from .backup import BackupError, backup

    try:
        result = backup(output)
    except BackupError as error:
        raise click.ClickException(str(error))
    m = result.manifest
    click.echo(f"written: {result.path} ({m['database']}, revision {m['alembic_revision']}, "
               f"{m['tickets']} tickets, {m['events']} events, {m['upload_files']} uploaded files)")


@click.command("restore")
@click.option("--input", "source", required=True, type=click.Path(exists=True, dir_okay=False),
              help="An archive written by `backup`.")
@with_appcontext
def restore_command(source: str):
    """Restore a backup into the configured database, which must be empty, and into UPLOAD_DIR."""
    from .backup import BackupError, restore

    try:
        m = restore(source)
    except BackupError as error:
        raise click.ClickException(str(error))
    click.echo(f"restored: {m['tickets']} tickets, {m['events']} events, {m['upload_files']} uploaded files "
               f"from the backup of {m['created_at']}; now run `flask --app wsgi audit verify`")


def init_app(app: Flask) -> None:  # noqa: F811 (appended: registers the report group too)
    _init_app_before_report(app)
    app.cli.add_command(report_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
