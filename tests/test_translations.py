"""Both catalogs are complete: every string the code and templates show is translated."""
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def _extracted(tmp_path) -> set[tuple[str, str | None]]:
    """(msgid, message context) of every string the code and templates show."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "_p:1c,2",
         "-o", str(pot), "--no-location", "--ignore-dirs=.venv tests", "."],
        cwd=ROOT, check=True,
    )
    with pot.open("rb") as fh:
        return {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in read_po(fh) if m.id}


def _catalog(lang: str):
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def test_zh_catalog_translates_every_string(tmp_path):
    wanted = _extracted(tmp_path)
    cat = _catalog("zh")
    missing = sorted(mid for mid, ctx in wanted
                     if not ((m := cat.get(mid, context=ctx)) and m.string and not m.fuzzy))
    assert not missing, f"{len(missing)} strings lack a Chinese translation, e.g. {missing[:10]}"


def test_en_catalog_has_every_string(tmp_path):
    wanted = _extracted(tmp_path)
    cat = _catalog("en")
    missing = sorted(mid for mid, ctx in wanted if cat.get(mid, context=ctx) is None)
    assert not missing, f"{len(missing)} strings missing from the English catalog, e.g. {missing[:10]}"


def test_placeholders_survive_translation():
    cat = _catalog("zh")
    import re

    for m in cat:
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set(re.findall(r"%\(\w+\)[sd]", ids[0]))
        for s in strs:
            assert set(re.findall(r"%\(\w+\)[sd]", s)) == want, (m.id, s)
