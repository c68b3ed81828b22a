"""The package's shape: no import circles, lower stages never import higher ones, small modules.

The pipeline runs lang -> model -> engines (explore, smt, run) -> dispatch -> reports ->
commands (ci, cli).  Every `import` counts, including ones inside functions and under
TYPE_CHECKING: a circle hidden in a function is still a circle a reader has to walk.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "checker" / "kcheck"

# Lowest first.  A module belongs to the layer of the longest prefix that names it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("shared types", ("kcheck", "kcheck.cache", "kcheck.result", "kcheck.trace")),
    ("language", ("kcheck.lang",)),
    ("model", ("kcheck.model",)),
    (
        "engines",
        (
            "kcheck.explore",
            "kcheck.smt",
            "kcheck.run",
            "kcheck.mbt",
            "kcheck.conform",
            "kcheck.distributed",
        ),
    ),
    ("dispatch", ("kcheck.engines",)),
    ("reports", ("kcheck.report",)),
    (
        "commands",
        (
            "kcheck.ci",
            "kcheck.cli",
            "kcheck.run.cli",
            "kcheck.run.console",
            "kcheck.lsp",
            "kcheck.mbt.cli",
            "kcheck.conform.cli",
            "kcheck.dashboard",
        ),
    ),
]

# "About 600 lines": a module past this has more than one job.
MAX_LINES = 650


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The kcheck modules that module `name` imports (a package import counts as its __init__)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        out.update(t for t in targets if t in modules and t != name)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _layer(module: str) -> int:
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_has_a_layer() -> None:
    assert [m for m in _graph() if _layer(m) < 0] == []


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_lower_stages_never_import_higher_ones() -> None:
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in sorted(_graph().items())
        for target in sorted(targets)
        if _layer(target) > _layer(module)
    ]
    assert upward == []


def test_no_module_is_over_about_600_lines() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in _modules().items()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    # The checks above must be able to fail: a hand-made graph with both faults.
    graph = {"kcheck.lang.a": {"kcheck.model.b"}, "kcheck.model.b": {"kcheck.lang.a"}}
    assert _cycles(graph) == [["kcheck.lang.a", "kcheck.model.b"]]
    assert _layer("kcheck.model.b") > _layer("kcheck.lang.a")
    assert _layer("kcheck.run.cli") > _layer("kcheck.report.text") > _layer("kcheck.run.driver")
