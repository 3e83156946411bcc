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
