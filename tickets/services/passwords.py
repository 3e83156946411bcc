"""The password rules, for every password a person chooses or is given.

At least PASSWORD_MIN characters; not one of the common passwords that attackers try first
(common_passwords.txt beside this file says where the list comes from); not the username.
The same rules for the change-password page, the admin's user form and the XLSX import.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

PASSWORD_MIN, PASSWORD_MAX = 10, 200
COMMON_LIST = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The refused passwords, lower-cased; read once per process (about 10,000 lines)."""
    with COMMON_LIST.open(encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str = ""):
    """Why `password` is refused (a message), or None when it keeps every rule."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        return _l("The password needs at least %(n)d characters.", n=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return _l("The password may have at most %(n)d characters.", n=PASSWORD_MAX)
    folded = password.strip().lower()
    if username and folded == username.strip().lower():
        return _l("The password must not be the username.")
    if folded in common_passwords():
        return _l("This password is on the list of common passwords that attackers try first. "
                  "Please choose another.")
    return None
