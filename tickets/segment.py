"""Words for the ticket search: Chinese text segmented by jieba, and every part of a ticket number.

The same segmentation feeds the index (tickets.search_text, kept by tickets/models/search.py)
and the query (tickets/desk/queries.py), so a word found in a title is the word searched for.
"""
from __future__ import annotations

import logging
import re

import jieba

# jieba logs its dictionary loading at INFO on every process start.
jieba.setLogLevel(logging.WARNING)

# Letters and digits of any script; punctuation, spaces and "_" separate words.
_WORD = re.compile(r"[^\W_]+")
# At most this many words of a query are used: a pasted paragraph is not a search.
MAX_TERMS = 8


def _words(tokens) -> list[str]:
    out = []
    for token in tokens:
        out += [w.lower() for w in _WORD.findall(token)]
    return out


def number_words(number: str) -> list[str]:
    """Every suffix of the number's digits ("2026-000201": 2026000201, 026000201, ..., 201, 01, 1).

    A prefix search over the suffixes finds any run of digits inside the number: "201",
    "000201" and "2026-000201" (two runs: 2026, 000201) all find 2026-000201.
    """
    digits = "".join(ch for ch in number if ch.isdigit())
    return [digits[i:] for i in range(len(digits))]


def index_text(number: str, title: str, description: str) -> str:
    """The segmented words of a ticket, space-separated, for the full-text index."""
    words = number_words(number or "")
    # Search mode adds the shorter words inside long ones (熟练工人: 熟练, 工人, 熟练工).
    words += _words(jieba.cut_for_search(f"{title or ''}\n{description or ''}"))
    return " ".join(dict.fromkeys(words))


def query_terms(q: str) -> list[str]:
    """The words of a search, in the order typed; each is matched as a word prefix."""
    return list(dict.fromkeys(_words(jieba.cut(q or ""))))[:MAX_TERMS]
