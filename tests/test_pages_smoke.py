"""Every main page renders for the roles that use it, in both languages."""
import pytest

from .conftest import accept, file_request, handle


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_render_for_each_role(park, login, lang):
    from tickets.extensions import db
    from tickets.services.actions import perform

    t = file_request(park, title="<b>标题</b>")
    t2 = file_request(park)
    accept(park, t2)
    perform(t2, "request_extension", park.hr_official, days=2, reason="需要协调", public_reason="协调中")
    perform(t2, "request_transfer", park.hr_official, to_department_id=park.depts["finance"].id, reason="属财政")
    t3 = file_request(park)
    accept(park, t3)
    handle(park, t3)
    for u in (park.firm_user, park.coordinator, park.hr_official, park.hr_head, park.leader, park.inspector,
              park.fin_head):
        u.language = lang
    db.session.commit()
    pages = {
        park.firm_user: ["/firm/requests", "/firm/requests/new", f"/tickets/{t.number}", f"/tickets/{t3.number}"],
        park.coordinator: ["/desk/tickets", "/desk/tickets?scope=all", "/desk/approvals", "/desk/file",
                           f"/tickets/{t.number}", f"/tickets/{t2.number}"],
        park.hr_official: ["/desk/tickets", "/desk/tickets?scope=department&level=red", f"/tickets/{t2.number}"],
        park.hr_head: ["/desk/approvals", f"/tickets/{t2.number}"],
        park.leader: ["/desk/tickets?scope=all", "/desk/file", f"/tickets/{t3.number}"],
        park.inspector: ["/desk/tickets?scope=all&q=甲", f"/tickets/{t2.number}"],
        park.admin: ["/admin/"],
    }
    for user, urls in pages.items():
        client = login(user)
        for url in urls:
            resp = client.get(url)
            assert resp.status_code == 200, (user.username, url, resp.status_code)
            html = resp.get_data(as_text=True)
            assert "<b>标题</b>" not in html
