"""Imports flow one way: numpy_nn's import graph, read from the source with ``ast``.

Each module's imports are collected without importing anything: *module-level* imports
(including those in module-level ``if`` / ``try`` blocks and class bodies, which run at import
time) and *function-local* ones (inside a ``def``). Only imports of numpy_nn modules are
judged: optional packages (Numba, matplotlib, tensorboardX) are imported inside the functions
that need them, or inside ``try`` / ``except ImportError``, on purpose.

The tests assert that

* the graph of numpy_nn modules (module-level and function-local imports together) has no
  cycle;
* no function imports a numpy_nn module (a function-local import is how a cycle hides),
  except the few lazy loads of optional code listed in :data:`LAZY_IMPORTS`, each downwards;
* ``importlib.import_module("numpy_nn...")`` and ``__import__("numpy_nn...")`` count as
  imports too (function-local ones, wherever they are);
* every import goes downwards in :data:`LAYERS` (or stays within one layer);
* the kernels (``numpy_nn.kernels``) are the lowest layer; the Numba twins
  (``numpy_nn.twins``) are loaded only by the package itself, through the seam
  ``numpy_nn.dispatch``, and numpy_nn never imports TensorFlow or Keras.

Run ``python tests/test_layering.py`` to print the graph's cycles and function-local imports.
"""
from __future__ import annotations

import ast
import fnmatch
import pathlib
import sys

import pytest

PACKAGE = "numpy_nn"
ROOT = pathlib.Path(__file__).resolve().parent.parent / PACKAGE

#: The layers, lowest first; a module may import modules of its own layer or of lower ones.
#: Patterns are matched against module names (the first matching layer wins).
LAYERS = [
    ("kernels", ["numpy_nn.kernels", "numpy_nn.kernels.*"]),
    ("foundation", ["numpy_nn.errors", "numpy_nn._checks", "numpy_nn._registry",
                    "numpy_nn.io_utils", "numpy_nn.dispatch", "numpy_nn.backend",
                    "numpy_nn.variables"]),
    ("functions", ["numpy_nn.activations", "numpy_nn.activations.*", "numpy_nn.initializers",
                   "numpy_nn.regularizers", "numpy_nn.constraints"]),
    ("layers", ["numpy_nn.layers", "numpy_nn.layers.*"]),
    ("objectives", ["numpy_nn.losses", "numpy_nn.losses.*", "numpy_nn.metrics",
                    "numpy_nn.optimizers",
                    "numpy_nn.optimizers.*"]),
    ("saving", ["numpy_nn.saving", "numpy_nn.saving.*"]),
    ("callbacks", ["numpy_nn.callbacks", "numpy_nn.callbacks.*"]),
    ("models", ["numpy_nn.models", "numpy_nn.models.*"]),
    ("twins", ["numpy_nn.twins", "numpy_nn.twins.*"]),
    ("tools", ["numpy_nn.step_quantities", "numpy_nn.explain", "numpy_nn.utils",
               "numpy_nn.gradient_check", "numpy_nn.datasets", "numpy_nn.datasets.*",
               "numpy_nn.wrappers", "numpy_nn.wrappers.*"]),
    ("package", ["numpy_nn"]),
    # Built on the engine's public API; the engine imports nothing of them.
    ("applications", ["numpy_nn.experiments", "numpy_nn.experiments.*"]),
]

FORBIDDEN_PACKAGES = ("tensorflow", "keras", "tf_keras", "tf_backend")

#: (importer, imported): the only function-local imports of numpy_nn modules, each loading
#: code that needs an optional package (Numba) only when asked for, and each downwards
LAZY_IMPORTS = {
    # the seam asks the package to load the twins the first time the Numba path is chosen
    ("numpy_nn", "numpy_nn.twins"),
    # compile(jit_compile=True): the compiled step's driver, the first time a step runs
    ("numpy_nn.models.jit", "numpy_nn.models.compiled_step"),
    # keras.wrappers' place: numpy_nn.wrappers on first use, scikit-learn only when a wrapper is
    ("numpy_nn", "numpy_nn.wrappers"),
    ("numpy_nn.wrappers", "numpy_nn.wrappers.sklearn"),
}


# ---------------------------------------------------------------------------- reading the graph
def module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules():
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


class _ImportCollector(ast.NodeVisitor):
    """``(imported name, in a function?, line)`` for every import of one module."""

    def __init__(self, module, is_package):
        self.package = module if is_package else module.rpartition(".")[0]
        self.imports = []
        self.function_depth = 0

    def _function(self, node):
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node):
        for alias in node.names:
            self.imports.append((alias.name, [], self.function_depth > 0, node.lineno))

    def visit_Call(self, node):
        """``importlib.import_module("numpy_nn...")`` / ``__import__("numpy_nn...")`` with a
        literal (or f-string) name: an import, function-local wherever it sits (it runs when
        called)."""
        function = node.func
        name = (function.attr if isinstance(function, ast.Attribute)
                else function.id if isinstance(function, ast.Name) else None)
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                target = first.value
            elif isinstance(first, ast.JoinedStr) and first.values and isinstance(
                    first.values[0], ast.Constant):
                target = str(first.values[0].value).rstrip(".")
            else:
                target = None
            if target is not None:
                self.imports.append((target, [], True, node.lineno))
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")
            anchor = anchor[:len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        names = [alias.name for alias in node.names]
        self.imports.append((base, names, self.function_depth > 0, node.lineno))


def import_graph():
    """``{module: [(imported module, function_local, line)]}`` over numpy_nn's modules, and
    ``{module: [external top-level package]}``."""
    modules = all_modules()
    graph, external = {}, {}
    for module, path in modules.items():
        collector = _ImportCollector(module, path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text(), str(path)))
        edges, outside = [], set()
        for base, names, local, line in collector.imports:
            if base.split(".")[0] != PACKAGE:
                outside.add(base.split(".")[0])
                continue
            # ``from numpy_nn.models import validation`` imports the submodule
            targets = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules] or [base]
            edges += [(target, local, line) for target in targets if target != module]
        graph[module], external[module] = edges, sorted(outside)
    return graph, external


def find_cycles(edges):
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles


def layer_of(module):
    for rank, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns):
            return rank
    raise LookupError(f"{module} is in no layer of tests/test_layering.py's LAYERS")


GRAPH, EXTERNAL = import_graph()


def _edges():
    return {module: {target for target, _, _ in targets} for module, targets in GRAPH.items()}


def _local_imports():
    return {(module, target): line for module, targets in GRAPH.items()
            for target, local, line in targets if local}


# ---------------------------------------------------------------------------- the contracts
def test_the_graph_is_read():
    """The reader sees the package: a few imports everybody knows about are there."""
    edges = _edges()
    assert len(GRAPH) > 50
    assert "numpy_nn.models.sequential" in edges["numpy_nn.models.saving"]
    assert "numpy_nn.models.trainer" in edges["numpy_nn.models.sequential"]
    assert "numpy_nn.saving.archive" in edges["numpy_nn.saving.model_file"]
    assert "numpy_nn.callbacks.callback" in edges["numpy_nn.callbacks.progress"]


def test_no_import_cycles():
    cycles = find_cycles(_edges())
    assert cycles == [], f"import cycles among numpy_nn modules: {cycles}"


def test_no_function_local_imports_of_numpy_nn_modules():
    local = {pair: line for pair, line in _local_imports().items() if pair not in LAZY_IMPORTS}
    assert local == {}, ("function-local imports of numpy_nn modules (move them to the top; "
                         f"a cycle is what makes them look necessary): {local}")


def test_the_lazy_imports_are_there_and_go_down():
    local = _local_imports()
    for importer, imported in LAZY_IMPORTS:
        assert (importer, imported) in local, f"{importer} no longer imports {imported}"
        assert layer_of(imported) <= layer_of(importer)


@pytest.mark.parametrize("source", [
    "import importlib\ndef f():\n    importlib.import_module('numpy_nn.kernels.step')\n",
    "def f(name):\n    return __import__(f'numpy_nn.{name}')\n",
    "from importlib import import_module\nimport_module('numpy_nn.twins')\n",
])
def test_the_collector_sees_dynamic_imports(source):
    collector = _ImportCollector("numpy_nn.example", is_package=False)
    collector.visit(ast.parse(source))
    found = [(base, local) for base, _, local, _ in collector.imports if base.startswith("numpy")]
    assert len(found) == 1 and found[0][0].startswith("numpy_nn") and found[0][1]



def test_imports_go_down_the_layers():
    upward = []
    for module, targets in GRAPH.items():
        for target, _local, line in targets:
            if layer_of(target) > layer_of(module):
                upward.append(f"{module}:{line} imports {target} "
                              f"({LAYERS[layer_of(module)][0]} -> {LAYERS[layer_of(target)][0]})")
    assert upward == [], "imports against the layering:\n" + "\n".join(upward)


def test_kernel_twins_are_reached_only_through_the_seam():
    """Outside ``numpy_nn.twins``, only the package's loader imports a twin module: the
    reference code knows the seam (``has_numba_twin``) only, and the twins register
    themselves."""
    leaks = [f"{module}:{line} imports {target}" for module, targets in GRAPH.items()
             for target, _, line in targets
             if target.startswith("numpy_nn.twins")
             and not module.startswith("numpy_nn.twins") and module != "numpy_nn"]
    assert leaks == []


def test_the_kernels_import_nothing_above_them():
    above = [f"{module}:{line} imports {target}" for module, targets in GRAPH.items()
             for target, _, line in targets
             if module.startswith("numpy_nn.kernels") and not target.startswith(
                 ("numpy_nn.kernels", "numpy_nn.errors"))]
    assert above == []


def test_numpy_nn_never_imports_tensorflow_or_keras():
    offenders = {module: [p for p in packages if p in FORBIDDEN_PACKAGES]
                 for module, packages in EXTERNAL.items()}
    assert {m: p for m, p in offenders.items() if p} == {}


@pytest.mark.parametrize("source, expected", [
    ("import numpy_nn.backend\n", [("numpy_nn.backend", False)]),
    ("def f():\n    from numpy_nn import backend\n", [("numpy_nn.backend", True)]),
    ("try:\n    from numpy_nn import backend\nexcept ImportError:\n    pass\n",
     [("numpy_nn.backend", False)]),
    ("def f():\n    try:\n        import tensorboardX\n    except ImportError:\n"
     "        pass\n", [("tensorboardX", True)]),
    ("class A:\n    from numpy_nn import backend\n", [("numpy_nn.backend", False)]),
])
def test_the_collector_tells_module_level_from_function_local(source, expected):
    collector = _ImportCollector("numpy_nn.example", is_package=False)
    collector.visit(ast.parse(source))
    found = [(base if not names else f"{base}.{names[0]}", local)
             for base, names, local, _ in collector.imports]
    assert found == expected


def test_the_cycle_finder_finds_cycles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


if __name__ == "__main__":
    print("cycles (all imports):", find_cycles(_edges()), file=sys.stdout)
    print("function-local imports of numpy_nn modules:", sorted(_local_imports()))
