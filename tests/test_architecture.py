"""The core stays pure: no vendor library, no system clock. See STYLE.md habit 1 and 4."""

from __future__ import annotations

import ast
from pathlib import Path

import storeedge

CORE = Path(storeedge.__file__).parent / "core"
FORBIDDEN = {"bleak", "paho", "flask", "flask_socketio", "sqlite3", "evdev", "serial", "socketio"}


def imported_roots(source: str) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def forbidden_imports(path: Path) -> set[str]:
    return imported_roots(path.read_text(encoding="utf-8")) & FORBIDDEN


def test_core_imports_no_vendor_library() -> None:
    offenders = {
        str(path.relative_to(CORE)): sorted(found)
        for path in sorted(CORE.rglob("*.py"))
        if (found := forbidden_imports(path))
    }
    assert offenders == {}, f"the core must stay pure; found {offenders}"


def test_core_never_reads_the_system_clock() -> None:
    needles = ("time.time(", "time.monotonic(", "datetime.now(", "datetime.utcnow(")
    offenders = [
        f"{path.name}: {needle}"
        for path in sorted(CORE.rglob("*.py"))
        for needle in needles
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("import json\nfrom paho.mqtt import client\nimport sqlite3 as db\n")
    assert forbidden_imports(sneaky) == {"paho", "sqlite3"}
