"""The park's reference data: departments and the request categories with their limits."""
from __future__ import annotations

from .extensions import db
from .models import Category, Department

DEPARTMENTS = [
    # code, Chinese, English
    ("service", "企业服务中心", "Enterprise Service Centre"),
    ("hr", "人力资源和社会保障局", "Human Resources and Social Security Bureau"),
    ("finance", "财政金融局", "Finance Bureau"),
    ("planning", "规划建设局", "Planning and Construction Bureau"),
    ("economy", "经济发展局", "Economic Development Bureau"),
    ("approval", "行政审批局", "Administrative Approval Bureau"),
]

CATEGORIES = [
    # code, Chinese, English, default department, handling limit in working days
    ("labor", "用工招工", "Labor shortage", "hr", 5),
    ("financing", "融资贷款", "Financing", "finance", 10),
    ("market", "市场开拓", "Market access", "economy", 10),
    ("land", "用地保障", "Land", "planning", 15),
    ("energy", "水电气能源", "Energy and utilities", "economy", 5),
    ("approvals", "审批许可", "Approvals and permits", "approval", 7),
    ("policy", "政策兑现与补贴", "Policy and subsidies", "finance", 10),
    ("infrastructure", "基础设施配套", "Infrastructure", "planning", 10),
    ("talent", "人才与科技", "Talent and technology", "hr", 10),
    ("other", "其他", "Other", "service", 5),
]


def ensure_reference_data() -> dict:
    """Create the departments and categories that are missing; returns departments by code."""
    depts = {d.code: d for d in db.session.scalars(db.select(Department))}
    for code, zh, en in DEPARTMENTS:
        if code not in depts:
            depts[code] = Department(code=code, name_zh=zh, name_en=en)
            db.session.add(depts[code])
    db.session.flush()
    have = set(db.session.scalars(db.select(Category.code)))
    for pos, (code, zh, en, dept, limit) in enumerate(CATEGORIES):
        if code not in have:
            db.session.add(Category(code=code, name_zh=zh, name_en=en, department_id=depts[dept].id,
                                    limit_days=limit, position=pos))
    db.session.commit()
    return depts
