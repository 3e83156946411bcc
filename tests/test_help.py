"""The help pages: every role finds its own section, in both languages; the deadlines are the
configured ones; staff read the other roles' help, a firm only its own; the favicon is served.
"""
from __future__ import annotations

import re

import pytest

from tickets.extensions import db

ROLES = ("firm", "official", "coordinator", "leader", "inspector", "admin")


def user_of(park, role):
    return {"firm": park.firm_user, "official": park.hr_official, "coordinator": park.coordinator,
            "leader": park.leader, "inspector": park.inspector, "admin": park.admin}[role]


def sections(html: str) -> set[str]:
    return set(re.findall(r'data-testid="help-(' + "|".join(ROLES) + r')"', html))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_own_section_in_both_languages(park, client, login, role, lang):
    login(user_of(park, role))
    client.post(f"/language/{lang}")
    resp = client.get("/help")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in html
    assert sections(html) == {role}
    assert 'data-testid="help-deadlines"' in html
    links = set(re.findall(r'data-testid="help-link-([a-z]+)"', html))
    # Staff may read every other role's help; a firm user is offered none.
    assert links == (set() if role == "firm" else set(ROLES) - {role})
    for other in links:
        page = client.get(f"/help/{other}")
        assert page.status_code == 200 and sections(page.get_data(as_text=True)) == {other}


def test_a_user_with_two_roles_sees_both_sections(park, client, login):
    park.leader.set_roles(["leader", "coordinator"])
    db.session.commit()
    login(park.leader)
    assert sections(client.get("/help").get_data(as_text=True)) == {"coordinator", "leader"}


def test_a_firm_user_reads_no_staff_help(park, client, login):
    login(park.firm_user)
    assert client.get("/help/firm").status_code == 200
    for role in set(ROLES) - {"firm"}:
        assert client.get(f"/help/{role}").status_code == 404, role
    assert client.get("/help/nobody").status_code == 404


def test_the_deadlines_are_the_configured_ones(app, park, client, login):
    cat = park.category("labor")
    cat.limit_days = 7
    db.session.commit()
    app.config["FEEDBACK_LIMIT_DAYS"] = 4
    login(park.firm_user)
    client.post("/language/en")
    html = client.get("/help").get_data(as_text=True)
    handle = re.search(r'data-testid="help-limit-handle">(.*?)</dt>', html, re.S).group(1)
    assert f"{cat.name_en} 7 working days" in handle
    feedback = re.search(r'data-testid="help-limit-feedback">(.*?)</dt>', html, re.S).group(1)
    assert feedback.endswith(": 4 working days")
    accept = re.search(r'data-testid="help-limit-accept">(.*?)</dt>', html, re.S).group(1)
    assert accept.endswith(": 1 working day")  # the singular


def test_the_favicon_is_linked_and_served_as_svg(park, client, login):
    login(park.firm_user)
    html = client.get("/help").get_data(as_text=True)
    href = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', html).group(1)
    resp = client.get(href)
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    assert resp.get_data(as_text=True).lstrip().startswith("<svg")
    # Where a page names no icon, the browser asks for /favicon.ico: sent on, signed in or not.
    client.post("/logout")
    old = client.get("/favicon.ico")
    assert old.status_code == 301 and old.headers["Location"].endswith(href)
