"""Command-line tools: flask --app wsgi audit|calendar|demo ..."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

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
    click.echo(f"queue depth: {snap['queue_depth'] if snap['queue_depth'] is not None else 'unavailable'}")


@audit_cli.command("verify")
def audit_verify():
    """Exit 0 when every ticket's chain holds, 1 naming each broken ticket and event."""
    from .audit import verify_all

    checked, breaks = verify_all()
    for b in breaks:
        click.echo(f"BROKEN {b}")
    click.echo(f"{checked} tickets checked, {len(breaks)} broken")
    sys.exit(1 if breaks else 0)


@calendar_cli.command("seed")
@click.option("--from-year", default=2020, show_default=True)
def calendar_seed(from_year: int):
    """Load every year chinese-calendar knows (years already loaded are kept)."""
    from .services.calendar import seed_known_years

    for year, rows in seed_known_years(from_year).items():
        click.echo(f"{year}: {rows} exception days loaded" if rows else f"{year}: already loaded")


@demo_cli.command("seed")
@click.option("--tickets", default=200, show_default=True)
def demo_seed(tickets: int):
    """Build the demo park through the real services under a controllable clock."""
    from .demo import seed

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
