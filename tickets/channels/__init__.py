"""Delivery channels: each a small module with `send(row)`.

A channel raises `tickets.services.outbox.TransientError` when it should be
retried later. SMS or DingTalk work notices would be further modules here.
"""
from . import email, inapp

CHANNELS = {"inapp": inapp.send, "email": email.send}
