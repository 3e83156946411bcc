"""What happens to each demo ticket, and on which working days.

A plan is the story of one ticket: its fate (the state it ends in), its rounds, transfers,
extension, questions and notes, and the working days of its key steps (filing, acceptance,
handling, feedback, ...). Open tickets are anchored on today, so that at the real "now"
their clocks show the intended warning level; closed ones are placed in the past weeks so
that their whole story ends before today.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime

from . import texts
from .timeline import Days

WINDOW_DAYS = 70  # about ten weeks of history
CATEGORY_WEIGHTS = {"labor": 18, "financing": 12, "market": 8, "land": 8, "energy": 12, "approvals": 12,
                    "policy": 10, "infrastructure": 8, "talent": 7, "other": 5}
DEFAULT_DEPT = {"labor": "hr", "financing": "finance", "market": "economy", "land": "planning",
                "energy": "economy", "approvals": "approval", "policy": "finance",
                "infrastructure": "planning", "talent": "hr", "other": "service"}
# Where a ticket of a category is plausibly transferred to.
TRANSFER_TO = {"labor": ["service", "planning"], "financing": ["economy", "service"],
               "market": ["service", "finance"], "land": ["approval", "economy"],
               "energy": ["planning", "approval"], "approvals": ["planning", "economy"],
               "policy": ["economy", "hr"], "infrastructure": ["economy", "service"],
               "talent": ["finance", "service"], "other": ["planning", "economy"]}
OPEN_FATES = ("submitted", "accepted", "handled")


@dataclass
class Key:
    kind: str  # file accept reject withdraw handle feedback rework expire force_close
    gap: int  # working days after the previous key (0: the same day)
    round: int = 0
    day: date | None = None
    at: datetime | None = None


@dataclass
class Plan:
    idx: int
    tag: str
    fate: str
    category: str
    firm: int
    rounds: int = 1
    channel: str = "web"
    filer: str | None = None  # staff username when filed on the firm's behalf
    lead: str | None = None
    head_handles: bool = False
    urgency: str = "normal"
    level: str | None = None  # accepted and open: the warning level at "now"
    file_ago: int | None = None  # submitted and open: working days since filing (0: today)
    handled_ago: int | None = None  # handled and open
    late_round: int | None = None
    extension: dict | None = None  # {"round", "decision" (approve/deny/pending), "days"}
    transfers: list[dict] = field(default_factory=list)  # {"round", "kind", "decision", "to", "lead"}
    asks: dict[int, str] = field(default_factory=dict)  # round -> "answered" / "open"
    notes: dict[int, list[str]] = field(default_factory=dict)  # round -> ["public", "internal", "inspector"]
    audit_note: bool = False  # an inspector's spot check after closing
    outcomes: list[str] = field(default_factory=list)  # per round
    solved: str = "yes"
    rating: str = "satisfied"
    follows_tag: str | None = None
    follows: Plan | None = None
    is_follow_up: bool = False
    upload_on_file: bool = False
    text: int = 0
    values: dict = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)

    @property
    def last_day(self) -> date:
        return self.keys[-1].day

    def key(self, kind: str, round_: int | None = None) -> Key | None:
        for k in self.keys:
            if k.kind == kind and (round_ is None or k.round == round_):
                return k
        return None


# --- the scenarios every demo has, whatever its size ---------------------------

MUST = [
    # The demo firm (浙江恒信精密机械, user "firm") and the demo official (刘洋, "official").
    dict(tag="firm-handled", firm=0, category="labor", fate="handled", lead="official", handled_ago=1,
         asks={1: "answered"}, notes={1: ["public"]}, outcomes=["resolved"], upload_on_file=True),
    dict(tag="firm-question", firm=0, category="talent", fate="accepted", lead="official", level="green",
         asks={1: "open"}),
    dict(tag="firm-rework", firm=0, category="financing", fate="fed_back", rounds=2, lead="jiangtao",
         outcomes=["partly", "resolved"], solved="yes", rating="satisfied", notes={1: ["internal"]}),
    dict(tag="firm-submitted", firm=0, category="energy", fate="submitted", file_ago=0, urgency="urgent"),
    dict(tag="firm-withdrawn", firm=0, category="policy", fate="withdrawn"),
    dict(tag="firm-follow-up", firm=0, category="financing", fate="accepted", lead="luoying", level="green",
         follows_tag="firm-rework", notes={1: ["public"]}),
    dict(tag="official-yellow", category="labor", fate="accepted", lead="official", level="yellow",
         notes={1: ["internal"]}),
    dict(tag="official-red", category="labor", fate="accepted", lead="official", level="red",
         extension={"round": 1, "decision": "deny", "days": 5}),
    dict(tag="official-red3", category="talent", fate="accepted", lead="official", level="red3",
         notes={1: ["public", "inspector"]}, urgency="urgent"),
    dict(tag="official-pending-extension", category="labor", fate="accepted", lead="official", level="green",
         extension={"round": 1, "decision": "pending", "days": 5}),
    # Every warning level elsewhere too; transfers and extensions on open tickets.
    dict(tag="yellow-extended", category="approvals", fate="accepted", lead="songjia", level="yellow",
         extension={"round": 1, "decision": "approve", "days": 3}),
    dict(tag="red3-land", category="land", fate="accepted", lead="fanglei", level="red3", channel="visit",
         notes={1: ["internal", "inspector"]}),
    dict(tag="green-round2", category="energy", fate="accepted", lead="chenhao", level="green", rounds=2,
         outcomes=["partly"]),
    dict(tag="red-bounced", category="infrastructure", fate="accepted", lead="yaojing", level="red",
         transfers=[{"round": 1, "kind": "across", "decision": "approve", "to": "economy"},
                    {"round": 1, "kind": "across", "decision": "approve", "to": "planning"}]),
    dict(tag="pending-transfer", category="market", fate="accepted", lead="linli", level="green",
         transfers=[{"round": 1, "kind": "across", "decision": "pending", "to": "service"}]),
    dict(tag="handled-yellow", category="policy", fate="handled", lead="jiangtao", handled_ago="yellow",
         outcomes=["partly"]),
    # Closed stories.
    dict(tag="round3", category="labor", fate="fed_back", rounds=3, lead="xuqian", channel="platform",
         outcomes=["partly", "unresolved", "resolved"], solved="partly", rating="basically_satisfied",
         notes={3: ["inspector"]}),
    dict(tag="bounced-closed", category="land", fate="fed_back", lead="huangbin",
         transfers=[{"round": 1, "kind": "across", "decision": "approve", "to": "approval"},
                    {"round": 1, "kind": "across", "decision": "approve", "to": "planning"}]),
    dict(tag="inside-transfer", category="labor", fate="fed_back", lead="zhangkai",
         transfers=[{"round": 1, "kind": "inside", "decision": "approve"}]),
    dict(tag="transfer-denied", category="financing", fate="fed_back", lead="luoying",
         transfers=[{"round": 1, "kind": "across", "decision": "deny", "to": "economy"}]),
    dict(tag="extension-approved", category="land", fate="fed_back", lead="yaojing", channel="meeting",
         extension={"round": 1, "decision": "approve", "days": 5}),
    dict(tag="extension-denied-late", category="approvals", fate="fed_back", lead="maojun", late_round=1,
         extension={"round": 1, "decision": "deny", "days": 4}, notes={1: ["inspector"]},
         solved="partly", rating="basically_satisfied", outcomes=["partly"]),
    dict(tag="unconfirmed", category="infrastructure", fate="closed_unconfirmed", lead="huangbin", channel="phone"),
    dict(tag="forced", category="other", fate="closed_forced", lead="wulei", channel="letter"),
    dict(tag="rejected", category="energy", fate="rejected"),
    dict(tag="submitted-neglected", category="other", fate="submitted", file_ago=6),
    dict(tag="submitted-yesterday", category="market", fate="submitted", file_ago=1),
]


def _weighted(rng: random.Random, table: dict):
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]


class Planner:
    def __init__(self, rng: random.Random, days: Days, people, limits: dict[str, int]):
        self.rng = rng
        self.days = days
        self.people = people
        self.limits = limits  # handling limit per category code
        self.window_start = days.first_work_from(days.today.fromordinal(days.today.toordinal() - WINDOW_DAYS))

    # --- choosing -----------------------------------------------------------------

    def official(self, dept: str, avoid: set[str] = frozenset()) -> str:
        names = [u.username for u in self.people.officials[dept] if u.username not in avoid]
        if dept == "hr" and "official" in names and self.rng.random() < 0.4:
            return "official"
        return self.rng.choice(names)

    def random_plan(self, idx: int) -> Plan:
        rng = self.rng
        fate = _weighted(rng, {"fed_back": 45, "closed_unconfirmed": 7, "closed_forced": 3, "rejected": 6,
                               "withdrawn": 4, "accepted": 19, "handled": 9, "submitted": 7})
        category = _weighted(rng, CATEGORY_WEIGHTS)
        firm = rng.choices(range(len(self.people.firms)), weights=[1.5] + [1] * (len(self.people.firms) - 1))[0]
        p = Plan(idx=idx, tag=f"random-{idx}", fate=fate, category=category, firm=firm)
        p.urgency = _weighted(rng, {"normal": 82, "urgent": 15, "critical": 3})
        if rng.random() < 0.28:
            p.channel = _weighted(rng, {"phone": 35, "visit": 20, "meeting": 20, "letter": 10, "platform": 15})
        if fate in ("rejected", "withdrawn"):
            return p
        if fate == "submitted":
            p.file_ago = _weighted(rng, {0: 40, 1: 40, 2: 10, 3: 5, 6: 5})
            return p
        dept = DEFAULT_DEPT[category]
        p.lead = self.official(dept)
        plain = rng.random() < 0.08
        if fate == "fed_back":
            p.rounds = _weighted(rng, {1: 82, 2: 14, 3: 4})
        elif fate in ("accepted", "handled"):
            p.rounds = _weighted(rng, {1: 86, 2: 14})
        if fate == "accepted":
            p.level = _weighted(rng, {"green": 45, "yellow": 15, "red": 20, "red3": 20})
        if fate == "handled":
            p.handled_ago = _weighted(rng, {1: 30, 2: 30, 3: 20, 4: 15, 5: 5})
        final = p.rounds
        if plain:
            p.head_handles = True
        else:
            if rng.random() < 0.12 and fate not in ("closed_forced",):
                self._random_transfer(p, category)
            ext_round = final
            if rng.random() < 0.12:
                decision = _weighted(rng, {"approve": 60, "deny": 40})
                if fate == "accepted":
                    if p.level in ("red", "red3"):
                        decision = "deny"
                    elif rng.random() < 0.3:
                        decision = "pending"
                p.extension = {"round": ext_round, "decision": decision, "days": rng.choice([3, 5, 5, 7, 10])}
            for r in range(1, final + 1):
                if rng.random() < 0.3:
                    p.asks[r] = "open" if (fate == "accepted" and r == final and rng.random() < 0.4) else "answered"
                notes = []
                if rng.random() < 0.35:
                    notes.append("public")
                if rng.random() < 0.3:
                    notes.append("internal")
                if notes:
                    p.notes[r] = notes
            if fate in ("fed_back", "closed_unconfirmed") and rng.random() < 0.15:
                p.late_round = rng.randint(1, p.rounds)
                if rng.random() < 0.5:
                    p.notes.setdefault(p.late_round, []).append("inspector")
            if fate == "accepted" and p.level == "red3" and rng.random() < 0.5:
                p.notes.setdefault(final, []).append("inspector")
        if fate in ("fed_back", "closed_unconfirmed") and rng.random() < 0.08:
            p.audit_note = True
        p.upload_on_file = p.channel == "web" and rng.random() < 0.15
        p.is_follow_up = fate not in ("rejected", "withdrawn") and rng.random() < 0.07
        return p

    def _random_transfer(self, p: Plan, category: str) -> None:
        rng = self.rng
        dept = DEFAULT_DEPT[category]
        if p.fate == "accepted" and rng.random() < 0.3:
            decision = "pending"
        else:
            decision = _weighted(rng, {"approve": 75, "deny": 25})
        kind = "inside" if rng.random() < 0.35 and len(self.people.officials[dept]) > 1 else "across"
        # An open ticket's transfer is in its open round; a closed one's in the first.
        spec = {"round": p.rounds if p.fate == "accepted" else 1, "kind": kind, "decision": decision}
        if kind == "across":
            spec["to"] = rng.choice(TRANSFER_TO[category])
        p.transfers.append(spec)
        if kind == "across" and decision == "approve" and rng.random() < 0.25:
            # Bounced on: back where it came from, or on to a third department.
            back = rng.choice([dept] + [d for d in TRANSFER_TO[category] if d != spec["to"]])
            p.transfers.append({"round": spec["round"], "kind": "across", "decision": "approve", "to": back})

    def must_plan(self, idx: int, spec: dict) -> Plan:
        spec = dict(spec)
        spec.setdefault("firm", self.rng.randrange(1, len(self.people.firms)))
        p = Plan(idx=idx, **spec)
        if p.fate not in ("rejected", "withdrawn", "submitted") and p.lead is None:
            p.lead = self.official(DEFAULT_DEPT[p.category])
        return p

    def plans(self, n: int) -> list[Plan]:
        out = [self.must_plan(i, spec) for i, spec in enumerate(MUST[:n])]
        out += [self.random_plan(i) for i in range(len(out), n)]
        for p in out:
            self._finish(p)
        return out

    # --- outcomes, texts, transfer targets ------------------------------------------

    def _finish(self, p: Plan) -> None:
        rng = self.rng
        p.text = rng.randrange(len(texts.REQUESTS[p.category]))
        info = self.people.firms[p.firm]
        p.values = texts.values_for(rng, product=info.product, firm=info.short)
        while len(p.outcomes) < p.rounds:
            final = len(p.outcomes) == p.rounds - 1
            p.outcomes.append(_weighted(rng, {"resolved": 70, "partly": 20, "unresolved": 10}) if final
                              else _weighted(rng, {"resolved": 35, "partly": 50, "unresolved": 15}))
        if p.fate == "fed_back" and p.tag.startswith("random"):
            outcome = p.outcomes[-1]
            if outcome == "resolved":
                p.solved = _weighted(rng, {"yes": 90, "partly": 10})
                p.rating = _weighted(rng, {"satisfied": 75, "basically_satisfied": 25})
            elif outcome == "partly":
                p.solved = _weighted(rng, {"partly": 80, "no": 20})
                p.rating = _weighted(rng, {"satisfied": 30, "basically_satisfied": 70})
            else:
                p.solved = _weighted(rng, {"no": 85, "partly": 15})
                p.rating = _weighted(rng, {"satisfied": 20, "basically_satisfied": 80})
        # Who leads after each transfer, decided now so that inside transfers name a colleague.
        lead = p.lead
        dept = DEFAULT_DEPT[p.category] if lead else None
        for t in p.transfers:
            if t["kind"] == "inside":
                t["lead"] = self.official(dept, avoid={lead})
            else:
                t["lead"] = self.official(t["to"])
            if t["decision"] == "approve":
                lead, dept = t["lead"], (t.get("to") or dept)

    # --- working days of the key steps ----------------------------------------------

    def make_keys(self, p: Plan) -> None:
        rng = self.rng
        limit = self.limits[p.category]
        keys = [Key("file", 0)]
        if p.fate in ("withdrawn", "rejected"):
            keys.append(Key("withdraw" if p.fate == "withdrawn" else "reject", rng.choice([0, 0, 1])))
        elif p.fate != "submitted":
            keys.append(Key("accept", _weighted(rng, {0: 50, 1: 44, 2: 6}), round=1))
            for r in range(1, p.rounds + 1):
                final = r == p.rounds
                if final and p.fate == "accepted":
                    break
                if final and p.fate == "closed_forced":
                    keys.append(Key("force_close", limit + rng.randint(2, 6), round=r))
                    break
                keys.append(Key("handle", self._handle_gap(p, r, limit), round=r))
                if not final:
                    keys.append(Key("rework", _weighted(rng, {0: 30, 1: 35, 2: 25, 3: 10}), round=r))
                elif p.fate == "fed_back":
                    keys.append(Key("feedback", _weighted(rng, {0: 25, 1: 35, 2: 20, 3: 12, 4: 8}), round=r))
                elif p.fate == "closed_unconfirmed":
                    keys.append(Key("expire", 5, round=r))
        p.keys = keys

    def _handle_gap(self, p: Plan, r: int, limit: int) -> int:
        rng = self.rng
        ext = p.extension if p.extension and p.extension["round"] == r else None
        if ext and ext["decision"] == "approve":
            lo, hi = limit + 1, limit + ext["days"]
        else:
            lo, hi = max(1, limit // 4), limit
        if p.late_round == r:
            return hi + rng.randint(1, 5)
        # Most handlings come in the second half of the limit.
        return max(lo, min(hi, round(rng.triangular(lo, hi + 0.49, hi * 0.75))))

    def position(self, p: Plan, last_allowed: date | None = None) -> None:
        """Set the day of every key: anchored on today for open tickets, else in the past weeks."""
        d = self.days
        keys = p.keys
        if p.fate == "submitted":
            keys[0].day = d.today if p.file_ago == 0 else d.before(d.today, p.file_ago)
            return
        if p.fate in ("accepted", "handled"):
            anchor = len(keys) - 1
            keys[anchor].day = self._anchor_day(p)
            for i in range(anchor - 1, -1, -1):
                keys[i].day = d.before(keys[i + 1].day, keys[i + 1].gap)
            return
        last_allowed = last_allowed or d.before(d.today, 1)
        span = sum(k.gap for k in keys[1:])
        latest = d.before(last_allowed, span)
        choices = d.workdays(self.window_start, latest)
        first = self.rng.choice(choices) if choices else latest
        keys[0].day = first
        for i in range(1, len(keys)):
            keys[i].day = d.after(keys[i - 1].day, keys[i].gap)

    def _anchor_day(self, p: Plan) -> date:
        d, rng = self.days, self.rng
        if p.fate == "handled":
            if p.handled_ago == "yellow":
                return d.before(d.first_work_from(d.today), 5)
            return d.before(d.today, p.handled_ago)
        limit = self.limits[p.category]
        ext = p.extension
        if ext and ext["round"] == p.rounds and ext["decision"] == "approve":
            limit += ext["days"]
        if p.level == "green":
            last = d.after(d.first_work_from(d.today), rng.randint(2, max(2, limit - 1)))
        elif p.level == "yellow":
            last = d.first_work_from(d.today)
        elif p.level == "red":
            last = d.before(d.today, rng.choice([1, 2]))
        else:
            last = d.before(d.today, rng.randint(5, 9))
        return d.before(last, limit)

    def link_follow_ups(self, plans: list[Plan]) -> None:
        """Point follow-ups at an earlier closed ticket of the same category, filed by the same firm."""
        by_tag = {p.tag: p for p in plans}
        closed = [p for p in plans if p.fate in ("fed_back", "closed_unconfirmed") and not p.is_follow_up
                  and not p.follows_tag]
        for p in plans:
            if p.follows_tag and p.follows_tag in by_tag:
                parent = by_tag[p.follows_tag]
                if parent.last_day >= p.keys[0].day:
                    self.position(parent, last_allowed=self.days.before(p.keys[0].day, 1))
                p.follows, p.text, p.values = parent, parent.text, dict(parent.values)
        taken = {id(p.follows) for p in plans if p.follows}
        for p in plans:
            if not p.is_follow_up or p.follows:
                continue
            candidates = [c for c in closed if c.category == p.category and c.last_day < p.keys[0].day
                          and id(c) not in taken]
            if candidates:
                parent = self.rng.choice(candidates)
                taken.add(id(parent))
                # The same problem come back: the same firm, request and numbers.
                p.follows, p.firm, p.text, p.values = parent, parent.firm, parent.text, dict(parent.values)
