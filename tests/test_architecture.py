"""The floors of ``ddl/`` (ARCHITECTURE.md): imports point down, never in a cycle, never at private names.

Read from the source with :mod:`ast`, so the test sees every import: module level, inside functions
and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import attrs
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ddl"

# Bottom to top.  A module may import from its own unit and from units listed before it.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("ddl.version",),
    ("ddl",),  # the package root: __version__, and the facade's names loaded on first use
    ("ddl.sealing",),  # the user's secret that seals what ddl caches (stdlib only)
    ("ddl.codecache",),  # attrs' generated methods from the user's code cache (installed by the entry points)
    ("ddl.errors",),
    ("ddl.diagnostics",),
    ("ddl.values",),
    ("ddl.files", "ddl.builtins", "ddl.pygments_lexer"),  # the lexer imports nothing of ddl
    ("ddl.tree",),
    ("ddl.regular",),
    ("ddl.syntax",),
    ("ddl.types",),
    ("ddl.stdlib_reference",),  # the built-in and stdlib reference (stdlib/README.md, the distill digest)
    ("ddl.eval",),
    ("ddl.grammar",),
    ("ddl.verify",),
    ("ddl.api",),
    ("ddl.model",),
    ("ddl.testing",),
    ("ddl.distill",),
    ("ddl.widen",),
    ("ddl.handler",),
    ("ddl.refine",),
    ("ddl.lsp",),  # the language server (ddl lsp): over the facade, below the commands
    ("ddl.commands",),
    ("ddl.cli",),  # the console script
    ("ddl.__main__", "ddl.llm_plugin"),  # the other entry points
)
ENTRY_POINTS = ("ddl.cli", *FLOORS[-1])
FLOOR = {unit: level for level, units in enumerate(FLOORS) for unit in units}
DEFERRED = "# deferred:"


@attrs.frozen
class Import:
    module: str  # the importing module
    target: str  # the imported module (``from a.b import c`` is a.b.c when that is a module, else a.b)
    name: str | None  # the imported name, for ``from … import name``
    line: int
    local: bool  # inside a function
    type_only: bool  # under ``if TYPE_CHECKING:``
    reason: bool  # a ``# deferred: why`` comment on the line or the line above (local imports)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def unit(module: str) -> str:
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        candidate = ".".join(parts[:k])
        if candidate in FLOOR:
            return candidate
    raise AssertionError(f"{module} is on no floor: add it to FLOORS in tests/test_architecture.py")


def imports_of(module: str, path: Path) -> list[Import]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def has_reason(block_start: int) -> bool:
        # On the first import of a run of imports, or on the line above it.
        return any(DEFERRED in lines[n - 1] for n in (block_start - 1, block_start) if n >= 1)

    def visit(body: list[ast.stmt], local: bool, type_only: bool) -> None:
        block_start = 0
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                block_start = block_start or node.lineno
                record(node, local, type_only, has_reason(block_start))
                continue
            block_start = 0
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.body, local, True)
                visit(node.orelse, local, type_only)
                continue
            inner = local or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for field in ("body", "orelse", "finalbody"):
                block = getattr(node, field, None)
                if isinstance(block, list):
                    visit([b for b in block if isinstance(b, ast.stmt)], inner, type_only)
            for handler in getattr(node, "handlers", []) or []:
                visit(handler.body, inner, type_only)
            for case in getattr(node, "cases", []) or []:
                visit(case.body, inner, type_only)

    def record(node: ast.Import | ast.ImportFrom, local: bool, type_only: bool, reason: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(module, alias.name, None, node.lineno, local, type_only, reason))
            return
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        for alias in node.names:
            full = f"{base}.{alias.name}"
            found.append(Import(module, full if full in MODULES else base, alias.name, node.lineno, local,
                                type_only, reason))

    visit(ast.parse(text).body, False, False)
    return found


ALL = [imp for module, path in MODULES.items() for imp in imports_of(module, path)]
OURS = [imp for imp in ALL if imp.target == "ddl" or imp.target.startswith("ddl.")]


def where(imp: Import) -> str:
    return f"{MODULES[imp.module].relative_to(PACKAGE.parent)}:{imp.line}: {imp.module} imports {imp.target}" + (
        f" ({imp.name})" if imp.name else "")


def test_every_module_is_on_a_floor() -> None:
    for module in MODULES:
        unit(module)


def test_imports_point_down() -> None:
    # The package root names the facade (``ddl.load``, ``ddl.check``) and loads it on first use: its
    # deferred imports are the one way up, so that ``import ddl.regular`` does not load the language.
    upward = [where(imp) for imp in OURS
              if unit(imp.target) != unit(imp.module) and FLOOR[unit(imp.target)] >= FLOOR[unit(imp.module)]
              and not (imp.module == "ddl" and imp.local and imp.reason)]
    assert not upward, "imports against the floors (ARCHITECTURE.md):\n" + "\n".join(upward)


def test_only_entry_points_import_the_command_line() -> None:
    offenders = [where(imp) for imp in OURS
                 if unit(imp.target) in ("ddl.cli", "ddl.commands") and unit(imp.module) not in
                 (*ENTRY_POINTS, "ddl.commands")]
    assert not offenders, "\n".join(offenders)


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in OURS:
        if imp.module == "ddl" and imp.local and imp.reason:
            continue  # the root's facade names, loaded on first use (see test_imports_point_down)
        if not imp.type_only and imp.target in MODULES and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_no_private_name_imported_across_packages() -> None:
    offenders = []
    for imp in OURS:
        if imp.name and imp.name.startswith("_") and not imp.name.startswith("__"):
            importer_package = imp.module if MODULES[imp.module].name == "__init__.py" else imp.module.rpartition(".")[0]
            target_package = imp.target.rpartition(".")[0] if imp.target in MODULES and \
                MODULES[imp.target].name != "__init__.py" else imp.target
            if importer_package != target_package:
                offenders.append(where(imp))
    assert not offenders, "private names imported from another package:\n" + "\n".join(offenders)


def test_function_local_imports_say_why() -> None:
    """Imports inside functions only defer something heavy or optional, with a ``# deferred: why`` comment."""
    silent = [where(imp) for imp in ALL if imp.local and not imp.reason]
    assert not silent, "function-local imports without a '# deferred: why' comment:\n" + "\n".join(silent)


def test_the_command_line_parser_loads_nothing_of_the_language() -> None:
    """``ddl --help`` and ``ddl --version`` parse arguments only; a command loads its floors when it runs."""
    code = ("import sys, ddl.commands; ddl.commands.build_parser().parse_args(['check', 'x.ddl']); "
            "print(sorted(m for m in sys.modules if m.startswith(('ddl', 'lark', 'hypothesis', 'z3'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    loaded = set(eval(out))  # a printed list of module names
    allowed = {"ddl", "ddl.version", "ddl.diagnostics", "ddl.commands", "ddl.commands.base", "ddl.commands.parser",
               "ddl.testing", "ddl.testing.profiles"}
    assert loaded <= allowed, sorted(loaded - allowed)


def test_the_parser_offers_the_ledgers_verdicts() -> None:
    from ddl.commands.parser import VERDICTS as offered
    from ddl.handler.records import VERDICTS

    assert offered == VERDICTS


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; the components with more than one module (sorted)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
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


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
])
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert strongly_connected(graph) == expected


def test_the_floor_checker_sees_local_and_type_checking_imports(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ddl.api import check\n"
                      "def f():\n    # deferred: a reason\n    import z3\n    from ddl.cli import main\n"
                      "def g():\n    import json\n", encoding="utf-8")
    found = {(i.target, i.local, i.type_only, i.reason) for i in imports_of("ddl.probe", source)}
    assert ("ddl.api", False, True, False) in found
    assert ("z3", True, False, True) in found
    assert ("ddl.cli", True, False, True) in found  # in the block the comment opens
    assert ("json", True, False, False) in found
