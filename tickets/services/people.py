"""Admin services: users, firms, departments and categories, with the rules they must keep.

The `check_*` functions hold the rules on one record and are shared with the
XLSX import, so that a row in a sheet and a form on a page are judged alike.
"""
from __future__ import annotations

import re

from flask import current_app
from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Category, Department, Firm, User
from ..models.org import LANGUAGES, ROLES
from ..validators import CREDIT_ALPHABET, is_valid_credit_code, is_valid_phone
from .common import MAX_ID, raise_if, require_text
from .errors import InvalidInput
from .passwords import password_problem
from .security_log import record

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CODE_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
LIMIT_MIN, LIMIT_MAX = 1, 60

# DESIGN.md, Separation of duties: whoever audits does not handle. The inspector role is
# never held with these (a head is an official flagged as head).
NOT_WITH_INSPECTOR = ("coordinator", "official", "admin")
CONFLICT_WORDS = {"coordinator": _l("coordinator"), "official": _l("official"), "head": _l("department head"),
                  "admin": _l("admin")}


def _page(stmt, model, after: int | None, size: int | None = None):
    """Keyset paging on id: (rows, id to continue after, or None on the last page)."""
    size = size or current_app.config["PAGE_SIZE"]
    if after and 0 < after <= MAX_ID:  # beyond an INTEGER PostgreSQL would raise, not answer
        stmt = stmt.where(model.id > after)
    rows = db.session.scalars(stmt.order_by(model.id).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].id if more and rows else None)


def commit_or_refuse(message) -> None:
    """Commit; a unique constraint hit by a concurrent write becomes a clear refusal."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise InvalidInput(message) from None


# ---------------------------------------------------------------- users

def list_users(q: str = "", after: int | None = None, size: int | None = None):
    """Users whose name or username contains `q`, by id, one page at a time."""
    stmt = db.select(User).where(User.is_service.is_(False)).options(selectinload(User.firm), selectinload(User.department))
    q = (q or "").strip()[:100]
    if q:
        stmt = stmt.where(User.name.icontains(q, autoescape=True) | User.username.icontains(q, autoescape=True))
    return _page(stmt, User, after, size)


def separation_conflict(roles, is_head: bool = False):
    """The message naming the conflict when `roles` hold the inspector with a handling role; else None."""
    roles = set(roles or ())
    clash = [r for r in NOT_WITH_INSPECTOR if r in roles] if "inspector" in roles else []
    if not clash:
        return None
    words = [str(CONFLICT_WORDS["head" if r == "official" and is_head else r]) for r in clash]
    # "A, B and C" in English, "A、B和C" in Chinese: the reader's own way of listing.
    listed = format_list(words, locale=str(get_locale() or "zh"))
    return _l("Separation of duties: the inspector role cannot be combined with %(roles)s on one user "
              "(whoever audits does not handle).", roles=listed)


def require_separation(roles, is_head: bool = False) -> None:
    """Raise InvalidInput for a combination of roles that separation of duties forbids."""
    conflict = separation_conflict(roles, is_head)
    if conflict is not None:
        raise InvalidInput(conflict, {"roles": conflict})


def check_user(errors: dict, *, username, name, roles, language, email, mobile, firm, department,
               is_head, password, password_required: bool) -> dict:
    """The rules on one user's fields; `firm` and `department` are any reference or None."""
    username = (username or "").strip()
    if not username:
        errors["username"] = _l("Username is required.")
    elif not USERNAME_RE.match(username):
        errors["username"] = _l("A username has 2 to 64 letters, digits or the characters _ . @ -")
    name = require_text(errors, "name", name, _l("Name"), 100)
    roles = sorted(set(roles or []))
    if not roles:
        errors["roles"] = _l("Choose at least one role.")
    elif any(r not in ROLES for r in roles):
        errors["roles"] = _l("Unknown role. The roles are: %(roles)s.", roles=", ".join(ROLES))
    elif separation_conflict(roles, is_head) is not None:
        errors["roles"] = separation_conflict(roles, is_head)
    language = (language or "zh").strip()
    if language not in LANGUAGES:
        errors["language"] = _l("The language is zh or en.")
    email = (email or "").strip()
    if email and (len(email) > 200 or not EMAIL_RE.match(email)):
        errors["email"] = _l("This is not a valid e-mail address.")
    mobile = (mobile or "").strip()
    if mobile and not is_valid_phone(mobile):
        errors["mobile"] = _l("This is not a valid phone number.")
    if "firm" in roles and firm is None:
        errors["firm_id"] = _l("A user with the role firm needs a firm.")
    elif "firm" not in roles and firm is not None:
        errors["firm_id"] = _l("Only a user with the role firm belongs to a firm.")
    if "official" in roles and department is None:
        errors["department_id"] = _l("A user with the role official needs a department.")
    if is_head and "official" not in roles:
        errors["is_head"] = _l("Only an official can be the head of a department.")
    password = password or ""
    if password or password_required:
        problem = password_problem(password, username)
        if problem is not None:
            errors["password"] = problem
    return dict(username=username, name=name, roles=roles, language=language, email=email, mobile=mobile,
                is_head=bool(is_head), password=password)


def save_user(user: User | None, actor: User, *, username, name, roles, language="zh", email="", mobile="",
              firm_id=None, department_id=None, is_head=False, active=True, password="") -> User:
    """Create (user None) or update a user; a blank password on update keeps the old one."""
    errors: dict = {}
    firm = db.session.get(Firm, firm_id) if firm_id else None
    if firm_id and firm is None:
        errors["firm_id"] = _l("Unknown firm.")
    dept = db.session.get(Department, department_id) if department_id else None
    if department_id and dept is None:
        errors["department_id"] = _l("Unknown department.")
    v = check_user(errors, username=username, name=name, roles=roles, language=language, email=email,
                   mobile=mobile, firm=firm, department=dept, is_head=is_head, password=password,
                   password_required=user is None)
    if "username" not in errors:
        other = db.session.scalar(db.select(User).filter_by(username=v["username"]))
        if other is not None and other is not user:
            errors["username"] = _l("The username %(u)s is taken.", u=v["username"])
    # An admin who removes their own admin role or account locks everybody out of this page.
    if user is not None and user.id == actor.id:
        if "admin" not in v["roles"]:
            errors["roles"] = _l("You cannot remove your own admin role.")
        if not active:
            errors["active"] = _l("You cannot deactivate your own account.")
    raise_if(errors)
    created = user is None
    if created:
        user = User(username=v["username"])
        db.session.add(user)
    before = _access(user)
    user.username, user.name, user.language = v["username"], v["name"], v["language"]
    user.email, user.mobile, user.is_head, user.active = v["email"], v["mobile"], v["is_head"], bool(active)
    user.firm_id = firm.id if firm else None
    user.department_id = dept.id if dept else None
    user.set_roles(v["roles"])
    if v["password"]:
        user.set_password(v["password"])
        # A password someone else knows: the user chooses their own at the next sign-in (an
        # admin who sets their own password has chosen it).
        user.must_change_password = user.id != actor.id
    db.session.flush()
    _record_changes(user, actor, created, before, bool(v["password"]))
    commit_or_refuse(_l("The username %(u)s is taken.", u=v["username"]))
    return user


def _access(user: User) -> dict:
    """What decides what a user may see and do; a change to any of it ends their sessions."""
    return {"roles": sorted(user.roles), "head": bool(user.is_head), "department_id": user.department_id,
            "firm_id": user.firm_id, "active": bool(user.active) if user.active is not None else True}


def _record_changes(user: User, actor: User, created: bool, before: dict, password_set: bool) -> None:
    """Log what the admin changed; a reset, a change of access or a deactivation ends every session."""
    if created:
        record("user_created", user=user, actor=actor, via="admin", roles=sorted(user.roles))
        return
    after = _access(user)
    changed = {k: {"from": before[k], "to": after[k]} for k in after if k != "active" and before[k] != after[k]}
    ends_sessions = False
    if password_set:
        record("password_reset", user=user, actor=actor)
        ends_sessions = True
    if changed:
        record("roles_changed", user=user, actor=actor, **changed)
        ends_sessions = True
    if before["active"] != after["active"]:
        record("activated" if after["active"] else "deactivated", user=user, actor=actor)
        ends_sessions = True
    if ends_sessions:
        user.rotate_session_token()
        # API tokens too: a token must not outlive the access an admin just took away or reset.
        from .tokens import revoke_all

        revoke_all(user)


# ---------------------------------------------------------------- firms

def list_firms(q: str = "", after: int | None = None, size: int | None = None):
    """Firms whose name or credit code contains `q`, by id, one page at a time."""
    stmt = db.select(Firm).options(selectinload(Firm.liaison))
    q = (q or "").strip()[:100]
    if q:
        stmt = stmt.where(Firm.name.icontains(q, autoescape=True)
                          | Firm.credit_code.icontains(q.upper(), autoescape=True))
    return _page(stmt, Firm, after, size)


def leaders() -> list[User]:
    """Active users with the role leader: the choices for a firm's liaison."""
    users = db.session.scalars(db.select(User).where(User.active.is_(True)).order_by(User.name)).all()
    return [u for u in users if u.has("leader")]


def check_credit_code(errors: dict, field: str, code) -> str:
    """GB 32100-2015: 18 characters of the code alphabet, the last a check character."""
    code = (code or "").strip().upper()
    if not code:
        errors[field] = _l("The unified social credit code is required.")
    elif len(code) != 18 or any(c not in CREDIT_ALPHABET for c in code):
        errors[field] = _l("A unified social credit code has 18 characters: digits and capital letters "
                           "except I, O, S, V and Z.")
    elif not is_valid_credit_code(code):
        errors[field] = _l("The check character (the 18th character) of the unified social credit code is "
                           "wrong: please check the code.")
    return code


def check_firm(errors: dict, *, name, credit_code, address="", contact_name="", contact_phone="") -> dict:
    """The rules on one firm's own fields (the liaison is checked by the caller)."""
    name = require_text(errors, "name", name, _l("Name"), 200)
    code = check_credit_code(errors, "credit_code", credit_code)
    address = require_text(errors, "address", address, _l("Address"), 300, min_len=0)
    contact_name = require_text(errors, "contact_name", contact_name, _l("Contact person"), 100, min_len=0)
    contact_phone = (contact_phone or "").strip()
    if contact_phone and not is_valid_phone(contact_phone):
        errors["contact_phone"] = _l("This is not a valid phone number.")
    return dict(name=name, credit_code=code, address=address, contact_name=contact_name,
                contact_phone=contact_phone)


def save_firm(firm: Firm | None, *, name, credit_code, address="", contact_name="", contact_phone="",
              liaison_id=None) -> Firm:
    """Create (firm None) or update a firm."""
    errors: dict = {}
    v = check_firm(errors, name=name, credit_code=credit_code, address=address, contact_name=contact_name,
                   contact_phone=contact_phone)
    liaison = db.session.get(User, liaison_id) if liaison_id else None
    if liaison_id and (liaison is None or not liaison.has("leader")):
        errors["liaison_id"] = _l("The liaison must be a user with the role leader.")
    if "name" not in errors:
        other = db.session.scalar(db.select(Firm).filter_by(name=v["name"]))
        if other is not None and other is not firm:
            errors["name"] = _l("A firm with this name already exists.")
    if "credit_code" not in errors:
        other = db.session.scalar(db.select(Firm).filter_by(credit_code=v["credit_code"]))
        if other is not None and other is not firm:
            errors["credit_code"] = _l("A firm with this credit code already exists: %(name)s.", name=other.name)
    raise_if(errors)
    if firm is None:
        firm = Firm()
        db.session.add(firm)
    for key, value in v.items():
        setattr(firm, key, value)
    firm.liaison_id = liaison.id if liaison else None
    commit_or_refuse(_l("A firm with this name or credit code already exists."))
    return firm


# ---------------------------------------------------------------- departments and categories

def list_departments() -> list[Department]:
    return db.session.scalars(db.select(Department).order_by(Department.id)).all()


def _check_code(errors: dict, code) -> str:
    code = (code or "").strip().lower()
    if not CODE_RE.match(code):
        errors["code"] = _l("A code has 1 to 32 lower-case letters, digits, _ or -.")
    return code


def save_department(dept: Department | None, *, code, name_zh, name_en) -> Department:
    """Create (dept None) or update a department."""
    errors: dict = {}
    code = _check_code(errors, code)
    name_zh = require_text(errors, "name_zh", name_zh, _l("Chinese name"), 100)
    name_en = require_text(errors, "name_en", name_en, _l("English name"), 100)
    if "code" not in errors:
        other = db.session.scalar(db.select(Department).filter_by(code=code))
        if other is not None and other is not dept:
            errors["code"] = _l("The code %(code)s is taken.", code=code)
    raise_if(errors)
    if dept is None:
        dept = Department()
        db.session.add(dept)
    dept.code, dept.name_zh, dept.name_en = code, name_zh, name_en
    commit_or_refuse(_l("The code %(code)s is taken.", code=code))
    return dept


def list_categories() -> list[Category]:
    return db.session.scalars(db.select(Category).order_by(Category.position, Category.id)).all()


def save_category(cat: Category | None, *, code, name_zh, name_en, department_id, limit_days, active=True,
                  position=0) -> Category:
    """Create (cat None) or update a category. A new limit applies to clocks started from now on."""
    errors: dict = {}
    code = _check_code(errors, code)
    name_zh = require_text(errors, "name_zh", name_zh, _l("Chinese name"), 100)
    name_en = require_text(errors, "name_en", name_en, _l("English name"), 100)
    dept = db.session.get(Department, department_id) if department_id else None
    if dept is None:
        errors["department_id"] = _l("Choose the default department.")
    try:
        limit_days = int(limit_days)
    except (TypeError, ValueError):
        limit_days = 0
    if not LIMIT_MIN <= limit_days <= LIMIT_MAX:
        errors["limit_days"] = _l("The handling limit is %(lo)d to %(hi)d working days.", lo=LIMIT_MIN, hi=LIMIT_MAX)
    try:
        position = int(position or 0)
    except (TypeError, ValueError):
        position = -1
    if not 0 <= position <= 9999:
        errors["position"] = _l("The position is a number from 0 to 9999.")
    if "code" not in errors:
        other = db.session.scalar(db.select(Category).filter_by(code=code))
        if other is not None and other is not cat:
            errors["code"] = _l("The code %(code)s is taken.", code=code)
    raise_if(errors)
    if cat is None:
        cat = Category()
        db.session.add(cat)
    cat.code, cat.name_zh, cat.name_en = code, name_zh, name_en
    cat.department_id, cat.limit_days, cat.active, cat.position = dept.id, limit_days, bool(active), position
    commit_or_refuse(_l("The code %(code)s is taken.", code=code))
    return cat
