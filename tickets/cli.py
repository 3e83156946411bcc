"""Command-line tools: flask --app wsgi audit|calendar|demo ..."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

audit_cli = AppGroup("audit", help="Check the tamper-evident record.")
calendar_cli = AppGroup("calendar", help="The working-day calendar.")
demo_cli = AppGroup("demo", help="Demo data.")


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
    for group in (audit_cli, calendar_cli, demo_cli):
        app.cli.add_command(group)
