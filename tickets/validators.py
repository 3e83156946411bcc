"""Checks of identifiers that have a published rule."""
from __future__ import annotations

import re

# GB 32100-2015, the unified social credit code: 18 characters from this
# 31-character alphabet (no I, O, Z, S, V); the 18th is a check character.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    code = (code or "").strip().upper()
    if len(code) != 18 or any(c not in CREDIT_ALPHABET for c in code):
        return False
    return credit_check_char(code[:17]) == code[17]


# A mainland mobile number, or a landline with optional area code and extension.
_MOBILE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(?:0\d{2,3}[- ]?)?[2-9]\d{6,7}(?:[- ]\d{1,6})?$")


def is_valid_phone(phone: str) -> bool:
    phone = (phone or "").strip()
    return bool(_MOBILE.match(phone) or _LANDLINE.match(phone))
