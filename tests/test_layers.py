"""The layers hold: imports point down only, and no modules import each other in a circle.

Every import statement counts, including those inside functions: an import hidden in
a function is still a dependency, only a later one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "portal", "crawler", "worker", "rooms", "spaces", "bench")
PARTS = ("portal", "crawler", "worker", "rooms")
#: Where each package may import from (besides itself).
ALLOWED = {
    "core": set(),
    "portal": {"core"},
    "crawler": {"core"},
    "worker": {"core"},
    "rooms": set(),
    "spaces": {"core", *PARTS},
    "bench": {"core", *PARTS, "spaces"},
}


def modules() -> dict[str, Path]:
    """Return every module of the project by dotted name (packages by their own name)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def _resolve(name: str) -> str | None:
    """Return the project module `name` refers to (a module or something in one)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> Iterator[str]:
    """Yield the project modules `module` imports, at any depth of its code."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the module pkg.mod where there is one.
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                yield target


GRAPH = {module: set(imports_of(module)) for module in MODULES}


def _top(module: str) -> str:
    return module.partition(".")[0]


def test_packages_import_only_the_layers_below_them() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _top(target) != _top(module) and _top(target) not in ALLOWED[_top(module)]
    )
    assert wrong == []


def test_portal_package_imports_nothing_and_the_catalog_does_not_load_flask() -> None:
    assert GRAPH["portal"] == set()
    reached: set[str] = set()
    todo = ["core.catalog.models", "core.catalog.spaces"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(GRAPH[module])
    assert all(_top(module) == "core" for module in reached)
    sources = "\n".join(MODULES[module].read_text() for module in reached)
    assert not re.search(r"^\s*(from|import) flask\b", sources, re.MULTILINE)


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one circle of imports in `graph`, or [] if there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node, [node])):
            return found
    return []


def test_no_module_imports_itself_through_others() -> None:
    assert _cycle(GRAPH) == []


@pytest.mark.parametrize("depth", [1, 2])
def test_no_package_imports_itself_through_others(depth: int) -> None:
    def package(module: str) -> str:
        return ".".join(module.split(".")[:depth])

    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        packages.setdefault(package(module), set()).update(
            package(target) for target in targets if package(target) != package(module)
        )
    assert _cycle(packages) == []


def _patterns(path: Path) -> Iterator[str]:
    """Yield the regular expressions a module compiles or matches with."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def test_the_x_spaces_url_pattern_is_written_once() -> None:
    written = sorted(
        module
        for module, path in MODULES.items()
        if any("i/spaces" in pattern for pattern in _patterns(path))
    )
    assert written == ["core.platforms.x"]
