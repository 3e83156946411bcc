"""E-mail over SMTP, in the recipient's language, plain text and HTML.

The Message-ID is derived from the outbox key, so the rare duplicate after a
crash between sending and recording carries the same Message-ID. With no SMTP
server configured, messages are written to MAIL_DIR instead.
"""
from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale

from ..extensions import db
from ..messages import render
from ..models import OutboxMessage, User
from ..timeutil import now


def message_id(row: OutboxMessage) -> str:
    return f"<{row.key.replace(':', '.')}@bihuan>"


def build(row: OutboxMessage) -> EmailMessage:
    user = db.session.get(User, row.user_id)
    cfg = current_app.config
    subject, title = render(row.kind, row.params, user.language)
    link = f"{cfg['BASE_URL'].rstrip('/')}/tickets/{row.ticket.number}" if row.ticket else cfg["BASE_URL"]
    with force_locale(user.language):
        ctx = dict(subject=subject, title=title, link=link, user=user)
        text = render_template("email/notification.txt", **ctx)
        html = render_template("email/notification.html", **ctx)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = user.email
    msg["Message-ID"] = message_id(row)
    msg["Date"] = format_datetime(now().replace(tzinfo=__import__("datetime").timezone.utc))
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    # After the body: add_alternative moves every Content-* header into the first part.
    msg["Content-Language"] = "zh-CN" if user.language == "zh" else "en"
    return msg


def send(row: OutboxMessage) -> None:
    from ..services.outbox import TransientError

    msg = build(row)
    cfg = current_app.config
    if not cfg.get("SMTP_HOST"):
        folder = Path(cfg["MAIL_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{row.key.replace(':', '_')}.eml").write_bytes(bytes(msg))
        return
    try:
        smtp_cls = smtplib.SMTP_SSL if cfg.get("SMTP_SSL") else smtplib.SMTP
        with smtp_cls(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"]) as smtp:
            if cfg.get("SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException, socket.timeout) as e:
        raise TransientError(f"SMTP {cfg['SMTP_HOST']}:{cfg['SMTP_PORT']}: {e}") from e
