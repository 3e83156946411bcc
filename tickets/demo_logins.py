"""The demo logins that `flask --app wsgi demo seed` creates, printed by `make run`.

Every demo user (not only these) has the same password. Never use demo data in production.
"""
from __future__ import annotations

DEMO_PASSWORD = "bihuan-demo"

# (username, password, who it is and what to try)
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", DEMO_PASSWORD, "admin (系统管理员): users, departments, categories and limits, the calendar"),
    ("coord", DEMO_PASSWORD, "coordinator (企业服务中心): the inbox, accept or reject, file on a firm's behalf, "
                             "approve transfers across departments, close by force"),
    ("official", DEMO_PASSWORD, "official of the HR bureau (人社局 刘洋): leads several open tickets, "
                                "on time, near due, overdue and overdue 3+ working days"),
    ("head", DEMO_PASSWORD, "head of the HR bureau (人社局局长 钱伟民): the department's queue, "
                            "approves extensions and transfers inside the bureau"),
    ("leader", DEMO_PASSWORD, "park leader (管委会副主任 王建国): reads everything; liaison of the demo firm"),
    ("inspector", DEMO_PASSWORD, "discipline inspector (纪检督查 赵文博): reads everything, writes inspector notes, "
                                 "checks the chain"),
    ("firm", DEMO_PASSWORD, "firm user of 浙江恒信精密机械有限公司 (马志强): files requests; one request is "
                            "waiting for feedback, one for a reply to a question"),
]


def _demo_token(name: str) -> str:
    # bh_ and 43 characters, like every token (tickets/services/tokens.py), readable as a demo one.
    body = f"demo-{name}-".ljust(43, "0")
    assert len(body) == 43
    return "bh_" + body


# API tokens of the demo, made with the demo park and listed in the README for the docs page at
# /api/v1/docs: (username, or "integration" for the demo platform's service token, token, what it may do).
DEMO_TOKENS: list[tuple[str, str, str]] = [
    ("firm", _demo_token("firm"), "the firm 浙江恒信精密机械有限公司: file, read its requests, rate, withdraw"),
    ("coord", _demo_token("coordinator"), "the coordinator: every request; accept, reject, force-close"),
    ("official", _demo_token("official"), "an HR official: handle the requests they lead, ask the firm, notes"),
    ("head", _demo_token("head"), "the HR head: the bureau's requests; decide extensions, transfers"),
    ("leader", _demo_token("leader"), "a park leader: read only, the rates and the meeting list"),
    ("inspector", _demo_token("inspector"), "an inspector: read only, the whole record"),
    ("integration", _demo_token("platform"), "the service token of the demo platform 浙里办: files for and reads "
                                              "the first three demo firms"),
]
