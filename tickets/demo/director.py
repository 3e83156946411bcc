"""Play the plans: every step through the real services, with the clock set to its moment.

Each plan's key steps get a time on their working day; the record-only actions (notes,
questions, transfers, extensions) fall between them. All steps of all plans are then run
in time order with `set_now`, so that each history, deadline and chain is what the app
itself produced.
"""
from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app

from ..extensions import db
from ..models import Category, Ticket, User
from ..services.actions import perform, record_feedback
from ..services.common import Upload
from ..services.errors import ServiceError
from ..services.filing import file_ticket
from ..timeutil import local_today, set_now, to_local
from . import texts
from .plans import Plan
from .timeline import FIRM_HOURS, OFFICE_HOURS, Days

CONTACT_METHODS = {"phone": 40, "visit": 30, "meeting": 10, "platform": 10, "sms": 5, "letter": 5}
FIRM_SIDE = ("withdraw", "feedback", "rework")
UPLOAD_NAMES = {"labor": "岗位需求表.pdf", "financing": "财务报表.pdf", "market": "客户要求说明.pdf",
                "land": "项目备案文件.pdf", "energy": "用电负荷清单.pdf", "approvals": "受理回执.pdf",
                "policy": "项目验收报告.pdf", "infrastructure": "现场照片.png", "talent": "人才证书.pdf",
                "other": "情况说明.pdf"}


def demo_pdf(title: str) -> bytes:
    """A one-page PDF that viewers open (ASCII text only: no embedded font needed)."""
    stream = f"BT /F1 14 Tf 72 760 Td (Bihuan demo attachment: {title}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def demo_png(seed: int) -> bytes:
    """A small striped PNG (a stand-in for a site photo)."""
    w, h = 96, 64
    rng = random.Random(seed)
    c1 = bytes(rng.randrange(80, 220) for _ in range(3))
    c2 = bytes(rng.randrange(80, 220) for _ in range(3))
    rows = b"".join(b"\x00" + b"".join(c1 if (x // 12 + y // 12) % 2 else c2 for x in range(w)) for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


@dataclass
class Step:
    at: datetime
    plan: Plan
    seq: int
    kind: str
    arg: object = None


@dataclass
class Result:
    steps: int = 0
    failures: list[str] = field(default_factory=list)


class Director:
    def __init__(self, rng: random.Random, days: Days, people, plans: list[Plan]):
        self.rng = rng
        self.days = days
        self.people = people
        self.plans = plans
        self.categories = {c.code: c for c in db.session.scalars(db.select(Category))}
        self.feedback_limit = current_app.config["FEEDBACK_LIMIT_DAYS"]
        self.steps: list[Step] = []
        self.questions: dict[int, tuple[str, str]] = {}

    # --- when -------------------------------------------------------------------

    def schedule(self) -> None:
        for p in self.plans:
            self._schedule_keys(p)
            self._schedule_extras(p)
        self.steps.sort(key=lambda s: (s.at, s.plan.idx, s.seq))

    def _add(self, p: Plan, at: datetime, kind: str, arg=None) -> None:
        if at < self.days.end:
            self.steps.append(Step(at, p, len(self.steps), kind, arg))

    def _schedule_keys(self, p: Plan) -> None:
        d, prev = self.days, None
        for i, k in enumerate(p.keys):
            # A web filing may come in the evening, unless staff take it up the same day.
            same_day_next = i + 1 < len(p.keys) and p.keys[i + 1].day == k.day
            if k.kind == "file" and p.fate == "submitted" and p.file_ago == 0:
                # Filed today: by the firm at any hour, by staff in today's office hours if any have passed.
                today = d.pick(d.end - timedelta(hours=8), d.end - timedelta(minutes=10), 1)
                if p.channel == "web":
                    k.at = (d.end - timedelta(minutes=self.rng.randrange(15, 240),
                                              seconds=self.rng.randrange(60))).replace(microsecond=0)
                elif today and to_local(today[0]).date() == d.today:
                    k.at = today[0]
                else:
                    k.day = d.before(d.today, 1)
                    k.at = d.on_day(k.day, None)
            elif k.kind == "expire":
                handled = p.key("handle", k.round).at
                due = d.cal.deadline(handled, self.feedback_limit).due_at
                k.at = due + timedelta(seconds=self.rng.randrange(60, 600))  # the worker's next sweep
            else:
                web = k.kind == "file" and p.channel == "web" and not same_day_next
                hours = FIRM_HOURS if web or k.kind in FIRM_SIDE else OFFICE_HOURS
                k.at = d.on_day(k.day, prev, hours)
            prev = k.at
            self._add(p, k.at, k.kind, k.round)

    def _schedule_extras(self, p: Plan) -> None:
        d = self.days
        limit = self.categories[p.category].limit_days
        for r in range(1, p.rounds + 1):
            start = p.key("accept") if r == 1 else p.key("rework", r - 1)
            if start is None:
                continue
            stop = p.key("handle", r) or p.key("force_close", r)
            lo, hi = start.at, stop.at if stop else d.end
            ext = p.extension if p.extension and p.extension["round"] == r else None
            due = d.cal.deadline(lo, limit).due_at
            main_hi = min(hi, due - timedelta(hours=2)) if ext else hi
            extras: list[tuple[str, object]] = []
            notes = p.notes.get(r, [])
            if "public" in notes:
                extras.append(("note", "public"))
            if r in p.asks:
                extras.append(("ask", None))
                if p.asks[r] == "answered":
                    extras.append(("reply", None))
            for t in p.transfers:
                if t["round"] == r:
                    extras.append(("transfer_request", t))
                    if t["decision"] != "pending":
                        extras.append(("transfer_decide", t))
            if ext:
                extras.append(("extension_request", ext))
                if ext["decision"] != "pending":
                    extras.append(("extension_decide", ext))
            if "internal" in notes:
                extras.append(("note", "internal"))
            if main_hi <= lo:
                main_hi = hi
            for at, (kind, arg) in zip(d.pick(lo, main_hi, len(extras)), extras):
                self._add(p, at, kind, arg)
            if "inspector" in notes:
                if ext and ext["decision"] == "approve":
                    due = d.cal.deadline(lo, limit + ext["days"]).due_at
                window = (max(lo, due), hi) if due < hi else (lo, hi)
                for at in d.pick(*window, 1):
                    self._add(p, at, "inspector_note", "overdue" if due < hi else "watch")
        if p.audit_note and p.keys[-1].at:
            last = p.keys[-1].at
            for at in d.pick(last, min(last + timedelta(days=12), d.end), 1):
                self._add(p, at, "inspector_note", "audit")

    # --- who -----------------------------------------------------------------------

    def user(self, username: str) -> User:
        return self.people[username]

    def coordinator(self) -> User:
        name = self.rng.choices(["coord", "coord2", "leader3"], weights=[55, 35, 10])[0]
        return self.user(name)

    def firm_user(self, p: Plan) -> User:
        t = p.ticket
        if t is not None:
            submitter = db.session.get(User, t.submitter_id)
            if submitter.has("firm"):
                return submitter
        return self.people.firms[p.firm].users[0]

    def head_of(self, department_id: int) -> User:
        return next(u for u in self.people.heads.values() if u.department_id == department_id)

    # --- do ------------------------------------------------------------------------

    def run(self) -> Result:
        result = Result()
        broken: set[int] = set()
        for step in self.steps:
            p = step.plan
            if p.idx in broken:
                continue
            set_now(step.at)
            try:
                getattr(self, "_" + step.kind)(p, step.arg)
                result.steps += 1
            except ServiceError as e:
                db.session.rollback()
                broken.add(p.idx)
                result.failures.append(f"{p.tag} {step.kind} at {step.at:%Y-%m-%d %H:%M}: {e.message} {e.errors}")
        return result

    def _values(self, p: Plan, **more) -> dict:
        values = dict(p.values)
        t = p.ticket
        if t is not None and t.department is not None:
            values["dept"] = t.department.name_zh
        values.update(more)
        return values

    def _file(self, p: Plan, _arg) -> None:
        rng = self.rng
        info = self.people.firms[p.firm]
        firm = info.firm
        title, description = texts.REQUESTS[p.category][p.text]
        title, description = texts.fill(title, p.values), texts.fill(description, p.values)
        follows = ""
        if p.follows is not None and p.follows.ticket is not None:
            parent = p.follows.ticket
            follows = parent.number
            title = parent.title.removesuffix("（再次反映）") + "（再次反映）"
            description = (texts.fill(rng.choice(texts.FOLLOW_UP), {"number": parent.number, "title": parent.title})
                           + "原诉求：" + description)
        if p.channel == "web":
            users = info.users
            actor = users[0] if (p.firm == 0 and rng.random() < 0.8) else rng.choice(users)
            contact_name, contact_phone = actor.name, actor.mobile
        else:
            # A liaison leader records what they hear on a visit; the service centre's
            # coordinator "coord" takes calls, letters, the 12345 platform and meeting items.
            liaison = db.session.get(User, firm.liaison_id)
            if p.channel == "visit" or (p.channel == "meeting" and rng.random() < 0.5):
                actor = liaison
            else:
                actor = self.user(p.filer or "coord")
            description = texts.ON_BEHALF_PREFIX[p.channel] + description
            contact_name, contact_phone = firm.contact_name, firm.contact_phone
        uploads = []
        if p.upload_on_file:
            name = UPLOAD_NAMES[p.category]
            data = demo_png(p.idx) if name.endswith(".png") else demo_pdf(f"{p.category} #{p.idx}")
            uploads.append(Upload(name, data))
        p.ticket = file_ticket(actor, firm_id=firm.id, category_id=self.categories[p.category].id,
                               title=title, description=description, urgency=p.urgency,
                               contact_name=contact_name, contact_phone=contact_phone, channel=p.channel,
                               follows_number=follows, uploads=uploads)

    def _accept(self, p: Plan, _arg) -> None:
        lead = self.user(p.lead)
        perform(p.ticket, "accept", self.coordinator(), lead_id=lead.id, department_id=lead.department_id,
                note=self.rng.choice(texts.ACCEPT_NOTES))

    def _reject(self, p: Plan, _arg) -> None:
        t = p.ticket
        other = db.session.scalar(db.select(Ticket.number).where(Ticket.firm_id == t.firm_id, Ticket.id != t.id)
                                  .order_by(Ticket.id.desc()).limit(1))
        reasons = texts.REJECT if other else texts.REJECT[1:]
        reason = texts.fill(reasons[0] if other and self.rng.random() < 0.5 else self.rng.choice(reasons[1:]),
                            {"other": other})
        perform(t, "reject", self.coordinator(), reason=reason)

    def _withdraw(self, p: Plan, _arg) -> None:
        perform(p.ticket, "withdraw", self.firm_user(p), reason=self.rng.choice(texts.WITHDRAW))

    def _handle(self, p: Plan, round_: int) -> None:
        rng, t = self.rng, p.ticket
        actor = self.head_of(t.department_id) if p.head_handles else db.session.get(User, t.lead_id)
        outcome = p.outcomes[round_ - 1]
        done = texts.fill(texts.DONE[p.category][p.text], self._values(p))
        why = ""
        if outcome == "partly":
            why = rng.choice(texts.EXPLAIN_PARTLY)
        elif outcome == "unresolved":
            why = rng.choice(texts.EXPLAIN_UNRESOLVED)
        today = local_today()
        created = to_local(t.created_at).date()
        contacted = max(created, today - timedelta(days=rng.choice([0, 0, 0, 1, 2])))
        uploads = []
        if rng.random() < 0.15:
            uploads.append(Upload("办理情况说明.pdf", demo_pdf(f"handling {t.number} round {round_}")))
        perform(t, "handle", actor, outcome=outcome, what_was_done=done, explanation=why,
                contact_method=rng.choices(list(CONTACT_METHODS), weights=list(CONTACT_METHODS.values()))[0],
                contacted_on=contacted, uploads=uploads)

    def _feedback(self, p: Plan, _arg) -> None:
        comments = texts.FEEDBACK[(p.solved, p.rating)]
        record_feedback(p.ticket, self.firm_user(p), solved=p.solved, rating=p.rating,
                        comment=self.rng.choice(comments))

    def _rework(self, p: Plan, round_: int) -> None:
        solved = "partly" if p.outcomes[round_ - 1] == "partly" else "no"
        record_feedback(p.ticket, self.firm_user(p), solved=solved, rating="dissatisfied",
                        comment=self.rng.choice(texts.REWORK[""] + texts.REWORK.get(p.category, []) * 2))

    def _expire(self, p: Plan, _arg) -> None:
        perform(p.ticket, "expire", None)

    def _force_close(self, p: Plan, _arg) -> None:
        perform(p.ticket, "force_close", self.user(self.rng.choice(["coord", "leader3"])),
                reason=self.rng.choice(texts.FORCE_CLOSE))

    def _note(self, p: Plan, visibility: str) -> None:
        rng, t = self.rng, p.ticket
        if visibility == "public":
            actor, text = db.session.get(User, t.lead_id), rng.choice(texts.NOTES_PUBLIC)
        else:
            actor = rng.choice([db.session.get(User, t.lead_id), self.head_of(t.department_id), self.coordinator()])
            text = rng.choice(texts.NOTES_INTERNAL)
        uploads = []
        if visibility == "public" and rng.random() < 0.15:
            uploads.append(Upload("现场照片.png", demo_png(t.id)))
        perform(t, "note", actor, text=text, visibility=visibility, uploads=uploads)

    def _ask(self, p: Plan, _arg) -> None:
        question = self.rng.choice(texts.QUESTIONS.get(p.category, [texts.QUESTION_FALLBACK])
                                   + [texts.QUESTION_FALLBACK])
        self.questions[p.idx] = question
        perform(p.ticket, "ask", db.session.get(User, p.ticket.lead_id), text=texts.fill(question[0], p.values))

    def _reply(self, p: Plan, _arg) -> None:
        _q, answer = self.questions.get(p.idx, texts.QUESTION_FALLBACK)
        uploads = []
        if "上传" in answer:
            name = UPLOAD_NAMES[p.category]
            data = demo_png(p.idx) if name.endswith(".png") else demo_pdf(f"reply {p.ticket.number}")
            uploads.append(Upload(name, data))
        perform(p.ticket, "reply", self.firm_user(p), text=texts.fill(answer, p.values), uploads=uploads)

    def _transfer_request(self, p: Plan, spec: dict) -> None:
        t = p.ticket
        actor = db.session.get(User, t.lead_id)
        depts = self.people.departments
        if spec["kind"] == "inside":
            lead = self.user(spec["lead"])
            if lead.id == t.lead_id:
                lead = next(u for u in self.people.officials[self._dept_code(t.department_id)] if u.id != t.lead_id)
            reason = texts.fill(self.rng.choice(texts.TRANSFER_INSIDE), {"to": lead.name})
            perform(t, "request_transfer", actor, to_department_id=t.department_id, to_lead_id=lead.id,
                    reason=reason)
        else:
            to = depts[spec["to"]]
            reason = texts.fill(self.rng.choice(texts.TRANSFER_ACROSS), {"to": to.name_zh})
            perform(t, "request_transfer", actor, to_department_id=to.id, reason=reason)

    def _transfer_decide(self, p: Plan, spec: dict) -> None:
        t = p.ticket
        approver = self.head_of(t.department_id) if spec["kind"] == "inside" else self.coordinator()
        if spec["decision"] == "approve":
            data = {"comment": self.rng.choice(texts.TRANSFER_APPROVE)}
            if spec["kind"] == "across":
                data["lead_id"] = self.user(spec["lead"]).id
            perform(t, "transfer", approver, **data)
        else:
            perform(t, "deny_transfer", approver, comment=self.rng.choice(texts.TRANSFER_DENY))

    def _extension_request(self, p: Plan, spec: dict) -> None:
        reason, public_reason = self.rng.choice(texts.EXTENSION)
        perform(p.ticket, "request_extension", db.session.get(User, p.ticket.lead_id), days=spec["days"],
                reason=reason, public_reason=public_reason)

    def _extension_decide(self, p: Plan, spec: dict) -> None:
        comments = texts.EXTENSION_APPROVE if spec["decision"] == "approve" else texts.EXTENSION_DENY
        perform(p.ticket, "decide_extension", self.head_of(p.ticket.department_id), decision=spec["decision"],
                comment=self.rng.choice(comments))

    def _inspector_note(self, p: Plan, why: str) -> None:
        if why == "overdue":
            text = texts.NOTES_INSPECTOR[0]
        elif why == "audit":
            text = texts.NOTES_INSPECTOR[1]
        elif p.rounds >= 3:
            text = texts.NOTES_INSPECTOR[3]
        else:
            text = texts.NOTES_INSPECTOR[2]
        inspector = self.people.inspectors[0 if self.rng.random() < 0.7 else -1]
        perform(p.ticket, "inspector_note", inspector, text=text)

    def _dept_code(self, department_id: int) -> str:
        return next(code for code, d in self.people.departments.items() if d.id == department_id)
