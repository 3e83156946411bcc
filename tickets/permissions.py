"""Who may see and do what: the one permission function, asked by every route.

`may(user, action, ticket)` answers for every action of the lifecycle table and
for viewing (`"view"`). Rules are plain functions in a dict, named by the
lifecycle table's `who` column.
"""
from __future__ import annotations

from .extensions import db
from .lifecycle import ACTIONS
from .models import ExtensionRequest, Question, Ticket, TransferRequest, User, UserRole


def _is_official_of(user: User, department_id: int | None) -> bool:
    return user.has("official") and department_id is not None and user.department_id == department_id


def _is_head_of(user: User, department_id: int | None) -> bool:
    return _is_official_of(user, department_id) and user.is_head


def _coordinator(user, ticket) -> bool:
    return user.has("coordinator")


def _own_firm(user, ticket) -> bool:
    return user.has("firm") and user.firm_id is not None and user.firm_id == ticket.firm_id


def _lead(user, ticket) -> bool:
    if not user.has("official"):
        return False
    return ticket.lead_id == user.id or _is_head_of(user, ticket.department_id)


def _pending(model, ticket):
    return db.session.scalar(
        db.select(model).filter_by(ticket_id=ticket.id, status="pending").limit(1)
    )


def _open_question(ticket):
    return db.session.scalar(
        db.select(Question)
        .filter_by(ticket_id=ticket.id, answered_at=None)
        .order_by(Question.id)
        .limit(1)
    )


def _own_firm_open_question(user, ticket) -> bool:
    return _own_firm(user, ticket) and _open_question(ticket) is not None


def _lead_no_pending_extension(user, ticket) -> bool:
    return _lead(user, ticket) and _pending(ExtensionRequest, ticket) is None


def _lead_no_pending_transfer(user, ticket) -> bool:
    return _lead(user, ticket) and _pending(TransferRequest, ticket) is None


# --- four eyes: who decides an extension or transfer request ------------------------------
#
# Nobody decides their own request (DESIGN.md, Clocks; Separation of duties). A request
# inside a department goes to that department's head; when the department has no active
# head other than the requester, or the request crosses departments, a coordinator
# decides. The ticket page's buttons, the approvals inbox and the notification of a new
# request all ask `may_decide` (or `deciders`), so they cannot disagree.


def decision_department(req) -> int | None:
    """The department whose head decides `req`; None when it crosses departments."""
    if isinstance(req, TransferRequest):
        return None if req.crosses_departments else req.from_department_id
    return req.ticket.department_id


def active_heads(department_ids) -> dict[int, set[int]]:
    """The active heads of each of these departments, in one query: {department id: {user ids}}."""
    ids = {d for d in department_ids if d is not None}
    heads: dict[int, set[int]] = {d: set() for d in ids}
    if ids:
        for dept, uid in db.session.execute(
                db.select(User.department_id, User.id).join(UserRole, UserRole.user_id == User.id)
                .where(User.department_id.in_(ids), User.is_head.is_(True), User.active.is_(True),
                       UserRole.role == "official")):
            heads[dept].add(uid)
    return heads


def _decided_by_head(req, heads: dict[int, set[int]] | None = None) -> int | None:
    """The department whose head decides `req` now, or None when a coordinator does.

    A head decides when the department has an active head other than the requester. `heads`
    (from active_heads) saves the query, for a list of requests.
    """
    dept = decision_department(req)
    if dept is None:
        return None
    known = heads[dept] if heads is not None and dept in heads else active_heads([dept])[dept]
    return dept if known - {req.requested_by_id} else None


def _fits(user, req, head_dept: int | None) -> bool:
    if user is None or not user.is_active or user.id == req.requested_by_id:
        return False
    if isinstance(req, ExtensionRequest) and req.round != req.ticket.round:
        # A request of an earlier round never moves the clock of this one.
        return False
    if head_dept is not None:
        return _is_head_of(user, head_dept)
    return user.has("coordinator")


def may_decide(user, req, heads: dict[int, set[int]] | None = None) -> bool:
    """Whether `user` may approve or deny the pending request `req` (never their own)."""
    return req.status == "pending" and _fits(user, req, _decided_by_head(req, heads))


def deciders(req) -> list[User]:
    """Everyone who may decide `req`: the same rule as `may_decide`, for the notification."""
    head_dept = _decided_by_head(req)
    stmt = db.select(User).join(UserRole, UserRole.user_id == User.id).where(User.active.is_(True))
    if head_dept is not None:
        stmt = stmt.where(UserRole.role == "official", User.department_id == head_dept, User.is_head.is_(True))
    else:
        stmt = stmt.where(UserRole.role == "coordinator")
    return [u for u in db.session.scalars(stmt.order_by(User.id)) if _fits(u, req, head_dept)]


def _extension_approver(user, ticket) -> bool:
    req = _pending(ExtensionRequest, ticket)
    return req is not None and may_decide(user, req)


def _transfer_approver(user, ticket) -> bool:
    req = _pending(TransferRequest, ticket)
    return req is not None and may_decide(user, req)


def _system(user, ticket) -> bool:
    return user is None


def _staff(user, ticket) -> bool:
    return user.has("coordinator") or _is_official_of(user, ticket.department_id) or ticket.lead_id == user.id


def _inspector(user, ticket) -> bool:
    return user.has("inspector")


def _inspector_with_lead(user, ticket) -> bool:
    return user.has("inspector") and ticket.lead_id is not None


def may_explain(user, notice) -> bool:
    """The notice's official, or a head of the department it was issued to."""
    return notice.official_id == user.id or _is_head_of(user, notice.department_id)


def _notice_explainer(user, ticket) -> bool:
    return any(may_explain(user, n) for n in _notices(ticket, "issued"))


def _notice_concluder(user, ticket) -> bool:
    return user.has("inspector") and bool(_notices(ticket, "explained"))


def _notices(ticket, status: str) -> list:
    from .models import SupervisionNotice

    return list(db.session.scalars(
        db.select(SupervisionNotice).filter_by(ticket_id=ticket.id, status=status).order_by(SupervisionNotice.seq)))


def _review_proposer(user, ticket) -> bool:
    """A coordinator, while the ticket has a dissatisfied rating that no review was proposed for."""
    from .services.reviews import reviewable

    return user.has("coordinator") and bool(reviewable(ticket))


def _review_decider(user, ticket) -> bool:
    """An inspector, while a proposal waits that they did not make themselves."""
    from .services.reviews import reviews_of

    return user.has("inspector") and any(r.proposed_by_id != user.id for r in reviews_of(ticket, "proposed"))


RULES = {
    "coordinator": _coordinator,
    "own_firm": _own_firm,
    "lead": _lead,
    "own_firm_open_question": _own_firm_open_question,
    "lead_no_pending_extension": _lead_no_pending_extension,
    "lead_no_pending_transfer": _lead_no_pending_transfer,
    "extension_approver": _extension_approver,
    "transfer_approver": _transfer_approver,
    "system": _system,
    "staff": _staff,
    "inspector": _inspector,
    "inspector_with_lead": _inspector_with_lead,
    "notice_explainer": _notice_explainer,
    "notice_concluder": _notice_concluder,
    "review_proposer": _review_proposer,
    "review_decider": _review_decider,
}


def can_view(user: User | None, ticket: Ticket) -> bool:
    """Whether the ticket exists for this user at all (a firm never learns of another's)."""
    if user is None or not user.is_authenticated:
        return False
    if user.has("coordinator", "leader", "inspector"):
        return True
    if _own_firm(user, ticket):
        return True
    if user.is_service:
        # An integration reads the requests of the firms it serves, as those firms do.
        return ticket.firm_id in user.service_firm_ids
    if user.has("official"):
        if ticket.lead_id == user.id or _is_official_of(user, ticket.department_id):
            return True
        req = _pending(TransferRequest, ticket)
        if req is not None and _is_official_of(user, req.to_department_id):
            return True
        # A supervision notice still owes this official (or their head) an explanation,
        # even after the ticket moved to another department.
        if any(may_explain(user, n) for n in _notices(ticket, "issued")):
            return True
    return False


def may(user: User | None, action: str, ticket: Ticket) -> bool:
    """Whether `user` (None: the worker) may take `action` on `ticket` in its current state."""
    if action == "view":
        return can_view(user, ticket)
    a = ACTIONS.get(action)
    if a is None or ticket.state not in a.from_states:
        return False
    if user is None:
        return a.who == "system"
    if a.who == "system" or not user.is_active:
        return False
    return can_view(user, ticket) and RULES[a.who](user, ticket)


def allowed_actions(user: User, ticket: Ticket) -> list[str]:
    """The actions this user may take now, in table order: the page's buttons."""
    return [name for name, a in ACTIONS.items() if a.button and may(user, name, ticket)]


def visibilities_for(user: User, ticket: Ticket) -> tuple[str, ...]:
    """Which kinds of events this user reads on this ticket."""
    if user.has("inspector"):
        return ("public", "internal", "inspector")
    if user.has("coordinator", "leader"):
        return ("public", "internal")
    if user.has("official") and can_view(user, ticket) and not _own_firm(user, ticket):
        return ("public", "internal")
    return ("public",)


def may_file_for(user: User, firm) -> bool:
    """Coordinators may file for any firm; a leader for the firms they are liaison of."""
    if user.has("coordinator"):
        return True
    if user.is_service:
        return firm.id in user.service_firm_ids
    return user.has("leader") and firm.liaison_id == user.id


# The oversight pages, and who reads them (DESIGN.md, roles; the oversight issue).
PAGES = {
    "desk": ("inspector", "leader", "coordinator"),
    # Extension and transfer requests awaiting a decision (who decides which: `may_decide`).
    "approvals": ("coordinator", "head"),
    "audit": ("inspector", "leader"),
    # Inspectors read everything (DESIGN.md, roles): the list too; only coordinators decide on it.
    "meeting": ("coordinator", "leader", "head", "inspector"),
    "rates": ("coordinator", "leader", "head", "inspector"),
    "exports": ("inspector",),
}


def may_see_page(user, page: str) -> bool:
    """Whether `user` may open an oversight page; "head" means an official flagged as head."""
    if user is None or not user.is_authenticated:
        return False
    roles = PAGES[page]
    if user.has(*[r for r in roles if r != "head"]):
        return True
    return "head" in roles and user.has("official") and user.is_head


# --- who may open each page: one row per endpoint of the app --------------------------------
#
# `guard` (a before_request hook, installed by the factory after every blueprint) looks up the
# endpoint of each request here and answers 302 to the sign-in page or 403 before the view runs.
# An endpoint without a row is refused (403) for everyone, so a route added without a rule
# cannot open by accident; tests/test_authorization.py fails on one too. What a page shows of a
# ticket, a notice or a notification is decided inside the view, with `may`/`can_view` (404).


def queue_scopes(user: User) -> list[str]:
    """The staff queues a user reads: their own and their department's, the coordinators' intake, all."""
    out = []
    if user.has("official"):
        out += ["mine", "department"]
    if user.has("coordinator"):
        out += ["inbox"]
    if user.has("coordinator", "leader", "inspector"):
        out += ["all"]
    return out


# Help pages (/help/<role>): each user reads the help of the roles they hold; staff (anyone with a
# role besides firm) also read every other role's, to explain the loop; a firm user reads only the
# firm's, and the others do not exist for them (404).
def help_roles(user: User) -> tuple[str, ...]:
    """The roles whose help `user` may read, in the order of ROLES."""
    from .models.org import ROLES

    if user.roles - {"firm"}:
        return ROLES
    return tuple(r for r in ROLES if user.has(r))


def _is_liaison(user: User) -> bool:
    from .models import Firm

    return db.session.scalar(db.select(Firm.id).filter_by(liaison_id=user.id).limit(1)) is not None


def may_see_chain(user: User) -> bool:
    """Who reads a ticket's chain status and event hashes on its page (DESIGN.md: they audit or chair)."""
    return user.has("leader", "inspector", "coordinator")


PAGE_RULES = {
    "public": lambda u: True,
    "signed_in": lambda u: True,
    "firm": lambda u: u.has("firm") and u.firm_id is not None,
    "queue": lambda u: bool(queue_scopes(u)),
    # The page lists the firms this user may file for (may_file_for): a leader's own firms.
    "file_for": lambda u: u.has("coordinator") or (u.has("leader") and _is_liaison(u)),
    "approvals": lambda u: may_see_page(u, "approvals"),
    "desk": lambda u: may_see_page(u, "desk"),
    "audit": lambda u: may_see_page(u, "audit"),
    # Leaders read the audit page; only inspectors start a verification.
    "audit_run": lambda u: u.has("inspector"),
    "meeting": lambda u: may_see_page(u, "meeting"),
    # The weekly meeting's list is built and its decisions recorded by the coordinators.
    "meeting_decide": lambda u: u.has("coordinator"),
    "rates": lambda u: may_see_page(u, "rates"),
    "exports": lambda u: may_see_page(u, "exports"),
    "admin": lambda u: u.has("admin"),
    # The API authenticates by token (tickets/api/auth.py) and asks `may`/`can_view` per call.
    "api": lambda u: True,
}

_BLUEPRINT_RULES = {"api": "api", "admin": "admin", "rates": "rates", "exports": "exports", "firm": "firm", "inbox": "signed_in"}
ENDPOINTS: dict[str, str] = {
    "static": "public",
    "auth.index": "public",
    "auth.login": "public",
    "auth.language": "public",
    "auth.logout": "signed_in",
    "auth.help": "signed_in",
    # Which role's help a user may read is help_roles (404 for the others).
    "auth.help_role": "signed_in",
    "auth.favicon": "public",
    # For the load balancer (tickets/health.py): no session, no user.
    "health.healthz": "public",
    "health.readyz": "public",
    "auth.change_password": "signed_in",
    # Each user's own API tokens (another user's token: 404).
    "auth.api_tokens": "signed_in",
    "auth.revoke_api_token": "signed_in",
    "desk.queue": "queue",
    "desk.queue_page": "queue",
    "desk.approvals": "approvals",
    "desk.file_for": "file_for",
    # A ticket exists only for those who may see it (can_view: 404 for everyone else).
    "ticket.view": "signed_in",
    "ticket.attachment": "signed_in",
    "ticket.act": "signed_in",
    "inspect.desk": "desk",
    "inspect.audit": "audit",
    "inspect.audit_run": "audit_run",
    "notices.index": "desk",
    # A notice is read by whoever reads its ticket as staff (404 for everyone else).
    "notices.view": "signed_in",
    "notices.print_view": "signed_in",
    "meeting.current": "meeting",
    "meeting.week": "meeting",
    "meeting.xlsx": "meeting",
    "meeting.print_view": "meeting",
    "meeting.build_now": "meeting_decide",
    "meeting.decide": "meeting_decide",
}


def endpoint_rule(endpoint: str | None) -> str | None:
    """The rule that opens `endpoint` (None: no rule, refused for everyone)."""
    if endpoint in ENDPOINTS:
        return ENDPOINTS[endpoint]
    blueprint = (endpoint or "").split(".", 1)[0]
    return _BLUEPRINT_RULES.get(blueprint) if "." in (endpoint or "") else None


def may_open(user, endpoint: str) -> bool:
    """Whether `user` may open the page `endpoint`: the navigation and every route ask this."""
    rule = endpoint_rule(endpoint)
    if rule is None:
        return False
    if rule == "public":
        return True
    if user is None or not user.is_authenticated:
        return False
    return bool(PAGE_RULES[rule](user))


def init_app(app) -> None:
    """Install the guard; the factory calls this after every blueprint, so that it runs after the
    session check (an idle session is signed out first, then the page is judged)."""
    app.before_request(guard)
    app.jinja_env.globals["may_open"] = lambda endpoint: may_open(_current_user(), endpoint)


def _current_user():
    from flask_login import current_user

    return current_user


def guard():
    """Before every request: sign-in (302) or 403 unless the endpoint's rule admits the user."""
    from flask import abort, request
    from flask_login import current_user

    if request.endpoint is None:  # no route: the 404 (or 405) answers
        return None
    rule = endpoint_rule(request.endpoint)
    if rule in ("public", "api"):
        return None
    if rule is not None and not current_user.is_authenticated:
        from .extensions import login_manager

        return login_manager.unauthorized()
    if not may_open(current_user, request.endpoint):
        abort(403)
    return None


# A user whose password someone else chose (an admin's reset, the XLSX import) may open only these
# endpoints until they choose their own; tickets/auth/sessions.py sends every other request to the
# change-password page.
BEFORE_PASSWORD_CHANGE = frozenset({"auth.change_password", "auth.logout", "auth.language", "static"})


def may_open_before_password_change(endpoint: str | None) -> bool:
    """Whether a user who must still change their password may open `endpoint`."""
    return endpoint in BEFORE_PASSWORD_CHANGE
