"""The import checker behind tests/test_layers.py: every module has a layer, imports point down.

It reads the source with `ast` (nothing is imported) and records one edge per import of a module
of the package, wherever the import sits:

- `import p.a`, `from p import a`, `from p.a import X`, `from . import a`, `from ..a import X`;
- at the top level, inside a function, under `if TYPE_CHECKING:` (all of them count: a
  `TYPE_CHECKING` import is a dependency of the types, and an import cycle through it is a cycle);
- `importlib.import_module("p.a")`, `import_module(".a", __package__)` and `__import__("p.a")`
  with a literal name; an f-string name counts as an import of the longest module its literal
  prefix names (`f"{__name__}.{x}"` in `p/stores/__init__.py` imports `p.stores` itself).

An edge goes to the most specific module named: `from p.a import b` is an edge to `p.a.b` when
that is a module, else to `p.a`. The implicit import of the parent packages is not an edge (every
submodule would otherwise be in a cycle with its package's `__init__`).

`check()` returns one message per problem, each naming the file, the line and the edge:
a module without a layer, a map entry without a module, an upward import, an import cycle.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class Layer(IntEnum):
    """Higher layers may import lower ones and their own; never a higher one."""

    GROUND = 0
    VALUES = 1
    PARTS = 2
    CORE = 3
    FACE = 4


@dataclass(frozen=True)
class Edge:
    """`importer` imports `imported` at `path:line`; `kind` says where the import sits."""

    importer: str
    imported: str
    path: str
    line: int
    kind: str

    def describe(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} -> {self.imported} ({self.kind})"


@dataclass(frozen=True)
class Package:
    """The modules of a package on disk: dotted name -> file (relative to the package's parent)."""

    root: Path
    name: str
    modules: Mapping[str, Path]

    @classmethod
    def scan(cls, root: Path) -> Package:
        """Every `.py` file under `root` (a package directory) as a module."""
        modules: dict[str, Path] = {}
        for file in sorted(root.rglob("*.py")):
            parts = file.relative_to(root.parent).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = file
        return cls(root, root.name, modules)

    def display(self, module: str) -> str:
        """The module's file, relative to the package's parent: `aioscheduler/_values.py`."""
        return self.modules[module].relative_to(self.root.parent).as_posix()

    def relative(self, module: str) -> str:
        """The module's file relative to the package: the key of the layer map."""
        return self.modules[module].relative_to(self.root).as_posix()

    def is_package(self, module: str) -> bool:
        return self.modules[module].name == "__init__.py"

    def longest_module(self, dotted: str) -> str | None:
        """The longest module of the package that `dotted` names or lies inside."""
        parts = dotted.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in self.modules:
                return candidate
            parts.pop()
        return None


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_call_name(call: ast.Call) -> str | None:
    """`import_module`/`__import__` for calls that import by name, else None."""
    func = call.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else None
    )
    return name if name in ("import_module", "__import__") else None


class _Collector(ast.NodeVisitor):
    """Collects (dotted target, line, kind) for one module; targets are absolute names."""

    def __init__(self, package: Package, module: str) -> None:
        self.package = package
        self.module = module
        # the package relative imports start from
        self.anchor = module if package.is_package(module) else module.rpartition(".")[0]
        self.in_function = 0
        self.in_type_checking = 0
        self.found: list[tuple[str, int, str]] = []

    def kind(self, base: str) -> str:
        where = [base] if base else []
        if self.in_type_checking:
            where.append("under TYPE_CHECKING")
        if self.in_function:
            where.append("in a function")
        return ", ".join(where) or "top level"

    def resolve_relative(self, level: int, module: str | None) -> str:
        parts = self.anchor.split(".")
        base = parts[: len(parts) - (level - 1)] if level > 1 else parts
        return ".".join([*base, *([module] if module else [])])

    def add(self, target: str, line: int, kind: str) -> None:
        if target == self.package.name or target.startswith(self.package.name + "."):
            self.found.append((target, line, kind))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.in_function += 1
        self.generic_visit(node)
        self.in_function -= 1

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.in_function += 1
        self.generic_visit(node)
        self.in_function -= 1

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.in_function += 1
        self.generic_visit(node)
        self.in_function -= 1

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.visit(node.test)
        self.in_type_checking += 1
        for child in node.body:
            self.visit(child)
        self.in_type_checking -= 1
        for child in node.orelse:  # the `else:` of `if TYPE_CHECKING:` runs at run time
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add(alias.name, node.lineno, self.kind(""))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        level, module = node.level, node.module
        base = self.resolve_relative(level, module) if level else module or ""
        for alias in node.names:
            # `from p import a` names the module p.a when there is one, else a name in p
            candidate = f"{base}.{alias.name}"
            self.add(
                candidate if candidate in self.package.modules else base, node.lineno, self.kind("")
            )

    def visit_Call(self, node: ast.Call) -> None:
        if _import_call_name(node) is not None and node.args:
            target = self.call_target(node)
            if target is not None:
                self.add(target, node.lineno, self.kind("importlib"))
        self.generic_visit(node)

    def call_target(self, node: ast.Call) -> str | None:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            name = first.value
        elif isinstance(first, ast.JoinedStr):
            name = self.fstring_prefix(first)
        else:
            return None
        if name.startswith("."):
            # import_module(".a", package): relative to the module's own package
            stripped = name.lstrip(".")
            return self.resolve_relative(len(name) - len(stripped), stripped or None)
        return name

    def fstring_prefix(self, node: ast.JoinedStr) -> str:
        """The literal start of an f-string, with `{__name__}`/`{__package__}` filled in."""
        prefix = ""
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                prefix += value.value
            elif (
                isinstance(value, ast.FormattedValue)
                and isinstance(value.value, ast.Name)
                and value.value.id in ("__name__", "__package__")
            ):
                prefix += self.module if value.value.id == "__name__" else self.anchor
            else:
                break
        return prefix.rstrip(".")


def edges(package: Package) -> Iterator[Edge]:
    """Every import of one of the package's modules by another (self-imports left out)."""
    for module, file in package.modules.items():
        collector = _Collector(package, module)
        collector.visit(ast.parse(file.read_text(encoding="utf-8"), filename=str(file)))
        for target, line, kind in collector.found:
            imported = package.longest_module(target)
            if imported is None or imported == module:
                continue
            yield Edge(module, imported, package.display(module), line, kind)


def layer_of(
    package: Package, module: str, files: Mapping[str, Layer], dirs: Mapping[str, Layer]
) -> Layer | None:
    """The module's layer: its file's entry, else the deepest directory rule that holds it."""
    relative = package.relative(module)
    if relative in files:
        return files[relative]
    folders = relative.split("/")[:-1]
    while folders:
        rule = dirs.get("/".join(folders))
        if rule is not None:
            return rule
        folders.pop()
    return None


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
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
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def _shortest_cycle(graph: Mapping[str, set[str]], start: str, members: set[str]) -> list[str]:
    """The shortest path start -> ... -> start inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is in no cycle")  # pragma: no cover - members are an SCC


def check(root: Path, files: Mapping[str, Layer], dirs: Mapping[str, Layer]) -> list[str]:
    """All layer problems of the package at `root` (a directory), as readable messages.

    `files` maps a file relative to the package (`"_scheduler.py"`, `"stores/memory.py"`) to its
    layer; `dirs` maps a folder (`"stores"`) to the layer of every file under it that `files`
    does not name.
    """
    package = Package.scan(root)
    problems: list[str] = []
    layers: dict[str, Layer] = {}
    for module in package.modules:
        layer = layer_of(package, module, files, dirs)
        if layer is None:
            problems.append(
                f"{package.display(module)}: module {module} has no layer: add it to the layer "
                "map in tests/test_layers.py"
            )
        else:
            layers[module] = layer
    known = {package.relative(module) for module in package.modules}
    for entry in sorted(files):
        if entry not in known:
            problems.append(f"{package.name}/{entry}: in the layer map but no such module")
    for folder in sorted(dirs):
        if not (root / folder).is_dir():
            problems.append(f"{package.name}/{folder}/: in the layer map but no such folder")

    graph: dict[str, set[str]] = {module: set() for module in package.modules}
    found: dict[tuple[str, str], Edge] = {}
    for edge in edges(package):
        graph[edge.importer].add(edge.imported)
        found.setdefault((edge.importer, edge.imported), edge)
        low, high = layers.get(edge.importer), layers.get(edge.imported)
        if low is not None and high is not None and high > low:
            problems.append(
                f"{edge.describe()}: upward import, {low.name.lower()} imports {high.name.lower()}"
            )
    for component in _cycles(graph):
        path = _shortest_cycle(graph, component[0], set(component))
        steps = "; ".join(found[pair].describe() for pair in itertools.pairwise(path))
        problems.append(f"import cycle among {', '.join(component)}: {' -> '.join(path)} [{steps}]")
    return list(dict.fromkeys(problems))  # `from p import a, b` is one problem, not two
