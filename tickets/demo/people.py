"""The demo park's people and firms: staff for every role, twenty firms with their users."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from werkzeug.security import generate_password_hash

from ..demo_logins import DEMO_PASSWORD
from ..extensions import db
from ..models import Department, Firm, User
from ..services.people import require_separation
from ..validators import CREDIT_ALPHABET, credit_check_char

EMAIL_DOMAIN = "demo.bihuan.local"
# 330481: 海宁市, Jiaxing, Zhejiang.
DIVISION = "330481"

# username, name, roles, department code, head?, language
STAFF = [
    ("admin", "何志远", ("admin",), None, False, "zh"),
    ("coord", "周敏", ("coordinator",), None, False, "zh"),
    ("coord2", "陈晓燕", ("coordinator",), None, False, "zh"),
    ("leader", "王建国", ("leader",), None, False, "zh"),
    ("leader2", "李红梅", ("leader",), None, False, "zh"),
    # The deputy director who also runs the service centre's triage.
    ("leader3", "张立军", ("leader", "coordinator"), None, False, "zh"),
    ("inspector", "赵文博", ("inspector",), None, False, "zh"),
    ("inspector2", "孙雅琴", ("inspector",), None, False, "en"),
    ("shenjie", "沈洁", ("official",), "service", True, "zh"),
    ("wulei", "吴磊", ("official",), "service", False, "zh"),
    ("yuting", "俞婷", ("official",), "service", False, "zh"),
    ("head", "钱伟民", ("official",), "hr", True, "zh"),
    ("official", "刘洋", ("official",), "hr", False, "zh"),
    ("xuqian", "徐倩", ("official",), "hr", False, "zh"),
    ("zhangkai", "张凯", ("official",), "hr", False, "zh"),
    ("caihong", "蔡虹", ("official",), "finance", True, "zh"),
    ("jiangtao", "蒋涛", ("official",), "finance", False, "zh"),
    ("luoying", "骆颖", ("official",), "finance", False, "zh"),
    ("chenguodong", "陈国栋", ("official",), "planning", True, "zh"),
    ("fanglei", "方磊", ("official",), "planning", False, "zh"),
    ("yaojing", "姚静", ("official",), "planning", False, "zh"),
    ("huangbin", "黄斌", ("official",), "planning", False, "zh"),
    ("zhuxiaoming", "朱晓明", ("official",), "economy", True, "zh"),
    ("chenhao", "陈昊", ("official",), "economy", False, "en"),
    ("linli", "林丽", ("official",), "economy", False, "zh"),
    ("gumingyu", "顾明宇", ("official",), "approval", True, "zh"),
    ("songjia", "宋佳", ("official",), "approval", False, "zh"),
    ("maojun", "毛俊", ("official",), "approval", False, "zh"),
]

ROADS = ["科创路", "启潮路", "芯中路", "双联路", "文苑南路", "隆兴路", "新苑路", "谷水路", "海宁大道", "联合路"]

# slug, name, what it makes, liaison (index into the three leaders), users: (username, name, language)
FIRMS = [
    ("hengxin", "浙江恒信精密机械有限公司", "数控机床主轴及精密零部件", 0,
     [("firm", "马志强", "zh"), ("hengxin2", "邵丽华", "zh")]),
    ("tiancheng", "海宁天成新材料科技有限公司", "改性工程塑料", 1, [("tiancheng", "许国平", "zh")]),
    ("ruifeng", "浙江瑞丰光电股份有限公司", "LED 照明模组", 2,
     [("ruifeng", "郑晓东", "zh"), ("ruifeng2", "潘静", "zh")]),
    ("bolan", "海宁博澜汽车零部件有限公司", "汽车座椅骨架", 0,
     [("bolan", "Thomas Becker", "en"), ("bolan2", "金燕", "zh")]),
    ("jiahe", "浙江嘉禾纺织印染有限公司", "经编面料印染", 1, [("jiahe", "沈建明", "zh")]),
    ("baichuan", "海宁市百川食品有限公司", "烘焙休闲食品", 2, [("baichuan", "朱丽娟", "zh")]),
    ("zhuoyue", "浙江卓越智能装备有限公司", "工业机器人集成系统", 0,
     [("zhuoyue", "杨帆", "zh"), ("zhuoyue2", "曹磊", "zh")]),
    ("huake", "海宁华科电子有限公司", "多层线路板", 1, [("huake", "吕海峰", "zh")]),
    ("lvyuan", "浙江绿源环保科技有限公司", "工业废气处理设备", 2, [("lvyuan", "褚永刚", "zh")]),
    ("xinda", "海宁鑫达皮革制品有限公司", "皮革服装及箱包", 0, [("xinda", "钱玉芳", "zh")]),
    ("zhongci", "浙江中磁新能源科技有限公司", "钕铁硼永磁材料", 1,
     [("zhongci", "王宇航", "zh"), ("zhongci2", "孔雪", "zh")]),
    ("kangtai", "海宁康泰医疗器械有限公司", "一次性医用耗材", 2, [("kangtai", "邱文静", "zh")]),
    ("minghui", "浙江明辉光伏科技有限公司", "光伏组件", 0, [("minghui", "徐振华", "zh")]),
    ("yongsheng", "海宁永盛经编有限公司", "经编家纺面料", 1, [("yongsheng", "蒋永盛", "zh")]),
    ("anjie", "浙江安捷物流装备有限公司", "自动化立体仓储货架", 2, [("anjie", "韩磊", "zh")]),
    ("xinyuan", "海宁芯源半导体有限公司", "功率半导体封装测试", 0,
     [("xinyuan", "林思远", "zh"), ("xinyuan2", "Grace Lin", "en")]),
    ("fengyuan", "浙江丰源生物科技有限公司", "生物发酵饲料添加剂", 1, [("fengyuan", "施红英", "zh")]),
    ("jindun", "海宁市金盾消防器材有限公司", "消防器材", 2, [("jindun", "屠国强", "zh")]),
    ("hongtu", "浙江宏图包装材料有限公司", "食品级包装膜", 0, [("hongtu", "钟伟", "zh")]),
    ("yunfan", "海宁云帆软件科技有限公司", "工业互联网软件", 1, [("yunfan", "董一鸣", "zh")]),
]


@dataclass
class FirmInfo:
    firm: Firm
    slug: str
    product: str
    users: list[User] = field(default_factory=list)

    @property
    def short(self) -> str:
        """"恒信精密" out of "浙江恒信精密机械有限公司", for texts."""
        name = self.firm.name
        for prefix in ("浙江", "海宁市", "海宁"):
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        return name[:4]


@dataclass
class People:
    by_username: dict[str, User]
    coordinators: list[User]
    leaders: list[User]
    inspectors: list[User]
    heads: dict[str, User]
    officials: dict[str, list[User]]  # by department code, the head not included
    departments: dict[str, Department]
    firms: list[FirmInfo]

    def __getitem__(self, username: str) -> User:
        return self.by_username[username]


def org_code(rng: random.Random) -> str:
    """Nine characters of a GB 11714 organisation code, its own check character included.

    Firms registered since 2015 have codes beginning "MA"; older ones are digits.
    """
    if rng.random() < 0.6:
        body = "MA" + rng.choice("0123456789") + "".join(rng.choice(CREDIT_ALPHABET[:25]) for _ in range(5))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    weights = (3, 7, 9, 10, 5, 8, 4, 2)

    def value(c: str) -> int:
        return int(c) if c.isdigit() else ord(c) - ord("A") + 10

    check = 11 - sum(value(c) * w for c, w in zip(body, weights)) % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code(rng: random.Random) -> str:
    """A unified social credit code of an enterprise (91) in Haining, with a valid check character."""
    first17 = "91" + DIVISION + org_code(rng)
    return first17 + credit_check_char(first17)


def mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        number = rng.choice(["135", "136", "138", "139", "150", "151", "157", "158", "159", "177", "187",
                             "188", "189", "199"]) + f"{rng.randrange(10**8):08d}"
        if number not in used:
            used.add(number)
            return number


def create_people(rng: random.Random) -> People:
    """Staff and firms; every user gets the same password hash (scrypt once, not per user)."""
    password_hash = generate_password_hash(DEMO_PASSWORD, method="scrypt")
    depts = {d.code: d for d in db.session.scalars(db.select(Department))}
    used_mobiles: set[str] = set()

    def user(username, name, roles, language="zh", dept=None, head=False, firm=None) -> User:
        # The same rule as the admin form and the import: no inspector who also handles.
        require_separation(roles, head)
        u = User(username=username, name=name, password_hash=password_hash,
                 email=f"{username}@{EMAIL_DOMAIN}", mobile=mobile(rng, used_mobiles), language=language,
                 department_id=depts[dept].id if dept else None, is_head=head,
                 firm_id=firm.id if firm else None)
        u.set_roles(roles)
        db.session.add(u)
        return u

    by_username: dict[str, User] = {}
    for username, name, roles, dept, head, language in STAFF:
        by_username[username] = user(username, name, roles, language, dept, head)
    db.session.flush()

    leaders = [by_username[u] for u in ("leader", "leader2", "leader3")]
    firms: list[FirmInfo] = []
    codes: set[str] = set()
    for n, (slug, name, product, liaison, users) in enumerate(FIRMS):
        code = credit_code(rng)
        while code in codes:
            code = credit_code(rng)
        codes.add(code)
        address = f"浙江省海宁市高新技术产业园区{ROADS[n % len(ROADS)]}{rng.randrange(1, 60) * 2 + n % 2}号"
        firm = Firm(name=name, credit_code=code, address=address, liaison_id=leaders[liaison].id)
        db.session.add(firm)
        db.session.flush()
        info = FirmInfo(firm=firm, slug=slug, product=product)
        for username, person, language in users:
            info.users.append(user(username, person, ("firm",), language, firm=firm))
            by_username[username] = info.users[-1]
        # The contact the firm gave the park: its first Chinese-speaking user.
        first = next((u for u in info.users if u.language == "zh"), info.users[0])
        firm.contact_name = first.name
        # Half the firms give the front desk's landline, half a mobile.
        firm.contact_phone = f"0573-87{rng.randrange(10**6):06d}" if n % 2 else first.mobile
        firms.append(info)
    db.session.flush()

    staff = [by_username[s[0]] for s in STAFF]
    officials: dict[str, list[User]] = {code: [] for code in depts}
    heads: dict[str, User] = {}
    for u in staff:
        if not u.has("official"):
            continue
        code = depts_code(depts, u)
        if u.is_head:
            heads[code] = u
        else:
            officials[code].append(u)
    return People(
        by_username=by_username,
        coordinators=[u for u in staff if u.has("coordinator")],
        leaders=leaders,
        inspectors=[u for u in staff if u.has("inspector")],
        heads=heads,
        officials=officials,
        departments=depts,
        firms=firms,
    )


def depts_code(depts: dict[str, Department], user: User) -> str:
    return next(code for code, d in depts.items() if d.id == user.department_id)
