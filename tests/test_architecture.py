"""The shape of the code, checked: a pure core, one gateway into it, no import cycle.

See STYLE.md habits 1 and 4 and docs/architecture.md. Each rule has a test that
shows it catches an offender, so a rule that silently stopped working would fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import storeedge

PACKAGE = Path(storeedge.__file__).parent
CORE = PACKAGE / "core"
FORBIDDEN = {
    "bleak",
    "paho",
    "flask",
    "flask_socketio",
    "sqlite3",
    "evdev",
    "serial",
    "socketio",
    "cryptography",
    "qrcode",
    "PIL",
    "werkzeug",
    "prometheus_client",
}
# Calls that reach the outside world: files, the environment, the system clock.
IO_ATTRIBUTES = {"read_text", "read_bytes", "write_text", "write_bytes", "mkdir", "unlink"}
IO_NAMES = {"open"}
CLOCK_NEEDLES = ("time.time(", "time.monotonic(", "datetime.now(", "datetime.utcnow(")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.Module, module: str, is_package: bool = False) -> Iterator[str]:
    """Absolute names of every module this one imports (relative imports resolved)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


def forbidden_imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imports(_tree(path), "x")} & FORBIDDEN


def outside_core_imports(path: Path) -> set[str]:
    """storeedge modules outside storeedge.core that a core module imports."""
    found = set()
    for name in _imports(_tree(path), "storeedge.core.x"):
        if name.split(".")[0] == "storeedge" and not name.startswith("storeedge.core"):
            found.add(name)
        if name == "storeedge":
            found.add(name)
    return found


def io_calls(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in IO_NAMES:
                found.add(f"{func.id}()")
            elif isinstance(func, ast.Attribute) and func.attr in IO_ATTRIBUTES:
                found.add(f".{func.attr}()")
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
            found.add(f"os.{node.attr}")
    return found


def core_files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_core_imports_no_vendor_library() -> None:
    offenders = {
        str(p.relative_to(CORE)): sorted(f) for p in core_files() if (f := forbidden_imports(p))
    }
    assert offenders == {}, f"the core must stay pure; found {offenders}"


def test_core_imports_nothing_from_storeedge_outside_core() -> None:
    offenders = {
        str(p.relative_to(CORE)): sorted(f) for p in core_files() if (f := outside_core_imports(p))
    }
    assert offenders == {}, f"the core depends only on itself; found {offenders}"


def test_core_does_no_io() -> None:
    offenders = {str(p.relative_to(CORE)): sorted(f) for p in core_files() if (f := io_calls(p))}
    assert offenders == {}, (
        f"files, environment and directories belong to the loader; found {offenders}"
    )


def test_core_never_reads_the_system_clock() -> None:
    offenders = [
        f"{path.name}: {needle}"
        for path in core_files()
        for needle in CLOCK_NEEDLES
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_checks_catch_offenders(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "import json, os\nfrom paho.mqtt import client\nimport sqlite3 as db\n"
        "from storeedge.config import load_settings\nfrom storeedge.core.events import Event\n"
        "secret = os.environ['X']\nopen('f')\nPath('x').read_text()\n"
    )
    assert forbidden_imports(sneaky) == {"paho", "sqlite3"}
    assert outside_core_imports(sneaky) == {"storeedge.config", "storeedge.config.load_settings"}
    assert io_calls(sneaky) == {"os.environ", "open()", ".read_text()"}


# --- no import cycle ---------------------------------------------------------------------


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the storeedge modules it imports, at any depth of the file (lazy ones too)."""
    files = {_module_name(p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for imported in _imports(_tree(path), name, path.name == "__init__.py"):
            known = imported
            while known and known not in files:
                known = known.rpartition(".")[0]
            if known and known != name:
                targets.add(known)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle if there is any (a package importing its own submodules is not one)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if node.startswith(target + "."):
                continue  # NB: a submodule importing its parent package's names is fine
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if state.get(target) is None and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


def test_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_the_cycle_check_catches_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


# --- one gateway into the core -------------------------------------------------------------

# Modules whose objects hold core state; only the core thread may touch them.
CORE_STATE = {
    "storeedge.runtime",
    "storeedge.core.pipeline",
    "storeedge.core.visits",
    "storeedge.core.alerts",
    "storeedge.core.kiosk_sessions",
    "storeedge.core.kiosk_screens",
    "storeedge.core.kiosk_desk",
    "storeedge.core.kiosk_acts",
    "storeedge.core.staff_desk",
    "storeedge.core.presence",
    "storeedge.core.recognition",
}
OTHER_THREADS = ("web", "adapters")


def core_state_imports(path: Path, name: str | None = None) -> set[str]:
    name = name or _module_name(path)
    return {
        module
        for imported in _imports(_tree(path), name, path.name == "__init__.py")
        for module in CORE_STATE
        if imported == module or imported.startswith(module + ".")
    }


def test_web_and_adapters_reach_the_core_only_through_the_gateway() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(found)
        for folder in OTHER_THREADS
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        if (found := core_state_imports(path))
    }
    assert offenders == {}, f"use storeedge.gateway.CoreGateway instead; found {offenders}"


def test_request_threads_are_handed_no_core_object() -> None:
    """What every request handler shares (WebContext) holds the gateway, not core objects."""
    import dataclasses
    import typing

    from storeedge.web.context import WebContext

    hints = typing.get_type_hints(WebContext)
    fields = {f.name: hints[f.name] for f in dataclasses.fields(WebContext)}
    assert not [
        name for name, kind in fields.items() if getattr(kind, "__module__", "") in CORE_STATE
    ], fields


def test_the_gateway_check_catches_an_offender(tmp_path: Path) -> None:
    sneaky = PACKAGE / "web" / "_sneaky_test_module.py"
    try:
        sneaky.write_text(
            "from storeedge.core.pipeline import Pipeline\nimport storeedge.runtime\n"
        )
        assert core_state_imports(sneaky) == {"storeedge.core.pipeline", "storeedge.runtime"}
    finally:
        sneaky.unlink()


# --- what ships ----------------------------------------------------------------------------


def dev_only_imports(path: Path) -> set[str]:
    """Imports of the development-only package (oracles, fault proxy) from shipped code."""
    return {name for name in _imports(_tree(path), "x") if name.split(".")[0] == "simlab"}


def test_shipped_code_never_imports_the_simulation_lab() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(found)
        for path in sorted(PACKAGE.rglob("*.py"))
        if (found := dev_only_imports(path))
    }
    assert offenders == {}, f"simlab is not in the wheel; found {offenders}"


def test_the_wheel_ships_storeedge_only() -> None:
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text("utf-8"))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["src/storeedge"]  # NB: storeedge.simulators rides inside


def test_the_lab_check_catches_an_offender(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from simlab.scoring import score\nimport simlab.linkproxy\n")
    assert dev_only_imports(sneaky) == {
        "simlab.scoring",
        "simlab.scoring.score",
        "simlab.linkproxy",
    }
