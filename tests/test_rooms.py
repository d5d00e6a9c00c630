"""The rooms and their arrows (README "Layout", DESIGN §1): what each package may import,
where SQL is written, where reportlab, OpenCV and Twilio may be used. Read from the source
with `ast`, so a new import that breaks a rule fails here, naming the file and line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("hybrid", "forms", "ocr", "sms", "review")
TOOLS = ("deck", "doubles")
# package → top-level packages of ours it must not import
FORBIDDEN = {
    "hybrid": {"forms", "ocr", "sms", "review", "deck", "doubles", "cli", "commands"},
    "forms": {"ocr", "sms", "review", "deck", "doubles", "cli", "commands"},
    "ocr": {"forms", "sms", "review", "deck", "doubles", "cli", "commands"},
    "sms": {"forms", "ocr", "review", "deck", "doubles", "cli", "commands"},
    # The review page shows a scan's evidence cut by the reader (ocr.evidence_picture),
    # handed in by the door: the page itself never imports the reader.
    "review": {"forms", "ocr", "sms", "deck", "doubles", "cli", "commands"},
    "deck": {"sms", "review", "doubles", "cli", "commands"},
}
_SQL = re.compile(r"\b(?:SELECT\s+[\w*(]|INSERT\s+INTO\b|UPDATE\s+[a-z_]+\s+SET\b|DELETE\s+FROM\b|CREATE\s+TABLE\b)")


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in `path`, relative imports resolved to the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_arrows_point_inward(package: str) -> None:
    wrong = [f"{_where(path, line)} imports {module}"
             for path in _modules(package) for line, module in _imports(path)
             if module.split(".")[0] in FORBIDDEN[package]]
    assert not wrong, "\n".join(wrong)


def test_nothing_in_the_product_imports_the_test_tools() -> None:
    wrong = [f"{_where(path, line)} imports {module}"
             for package in PRODUCT for path in _modules(package) for line, module in _imports(path)
             if module.split(".")[0] in TOOLS]
    assert not wrong, "\n".join(wrong)


def test_sql_is_written_only_in_the_store() -> None:
    store = ROOT / "hybrid" / "store"
    wrong = []
    for package in PRODUCT:
        for path in _modules(package):
            if store in path.parents:
                continue
            for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if _SQL.search(text):
                    wrong.append(f"{_where(path, number)}: {text.strip()[:80]}")
    assert not wrong, "SQL outside hybrid/store/:\n" + "\n".join(wrong)


@pytest.mark.parametrize(("library", "allowed"), [
    ("reportlab", ("forms", "hybrid/results")),
    ("cv2", ("ocr", "deck")),
    ("twilio", ("sms", "doubles")),
])
def test_each_library_stays_in_its_rooms(library: str, allowed: tuple[str, ...]) -> None:
    rooms = [ROOT / room for room in allowed]
    wrong = [f"{_where(path, line)} imports {module}"
             for package in (*PRODUCT, *TOOLS) for path in _modules(package) for line, module in _imports(path)
             if module.split(".")[0] == library and not any(room == path or room in path.parents for room in rooms)]
    assert not wrong, "\n".join(wrong)


def test_the_checks_see_the_imports_they_judge(tmp_path: Path) -> None:
    # A rule that reads nothing passes for nothing: the reader must find both kinds of import.
    sample = tmp_path / "sample.py"
    sample.write_text("import ocr.marks\nfrom sms.grammar import parse_message\nfrom . import x\n", encoding="utf-8")
    assert _imports(sample) == [(1, "ocr.marks"), (2, "sms.grammar")]
    assert _SQL.search('conn.execute("SELECT serial FROM records")')
    assert not _SQL.search("# select one of the options")
