"""Delivery channels: each a small module with `send(row)`.

A channel raises `tickets.services.outbox.TransientError` when it should be
retried later, `PermanentError` when it must not be tried again. SMS or DingTalk
work notices would be further modules here.
"""
from . import email, inapp, webhook

CHANNELS = {"inapp": inapp.send, "email": email.send, "webhook": webhook.send}
