"""All models, importable from one place."""
from .org import ROLES, Category, Department, Firm, User, UserRole  # noqa: F401
from .record import CalendarDay, CalendarYear, Event  # noqa: F401
from .ticket import (  # noqa: F401
    CHANNELS,
    CLOCK_KINDS,
    NO_DUE,
    REQUEST_STATUSES,
    STATES,
    URGENCIES,
    Attachment,
    Clock,
    ExtensionRequest,
    Feedback,
    Handling,
    Question,
    Ticket,
    TicketCounter,
    TransferRequest,
)
from .webhook import WebhookAttempt, WebhookSubscriber  # noqa: F401,E402
from .notify import Notification, OutboxAttempt, OutboxMessage, ReminderStep, SweepRun  # noqa: F401,E402
from .access import AccessLog  # noqa: F401,E402
from .audit_digest import AuditRun, DailyDigest, DigestPart  # noqa: F401,E402
from .meeting import MeetingDecision, MeetingList  # noqa: F401,E402
from .notice import CONCLUSIONS, NOTICE_STATUSES, NoticeCounter, SupervisionNotice  # noqa: F401,E402
from .review import REVIEW_STATUSES, RatingReview  # noqa: F401,E402
from .form_token import UsedFormToken  # noqa: F401,E402
from .security import SECURITY_KINDS, SecurityEvent  # noqa: F401,E402
from .api import SCOPES, TOKEN_KINDS, ApiToken, ServiceFirm  # noqa: F401,E402
from . import search  # noqa: F401,E402 (the full-text index's DDL and the mapper events)
