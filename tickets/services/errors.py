"""What a service raises when it writes nothing; views turn these into messages."""
from __future__ import annotations


class ServiceError(Exception):
    """Base: the request was refused and nothing was written."""

    status = 400

    def __init__(self, message, errors: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.errors = errors or {}


class InvalidInput(ServiceError):
    status = 400


class Refused(ServiceError):
    """The lifecycle table, or the permission function, does not allow it."""

    status = 403


class AlreadyFiled(Exception):
    """The form was posted before and filed `ticket`; this post wrote nothing."""

    def __init__(self, ticket):
        super().__init__(ticket.number)
        self.ticket = ticket


class StaleTicket(ServiceError):
    """Someone else changed the ticket since the form was loaded."""

    status = 409
