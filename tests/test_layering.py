"""Imports between bnnhw's subpackages flow one way, as docs/architecture.md draws them.

Every module of ``bnnhw`` is parsed with ``ast``; every import counts, module-level and inside
functions alike (a function-level import is still a dependency, only a hidden one), relative
imports resolved against the importing module. A top-level module (``bnnhw/design.py``) is a
node of its own, like a subpackage.
"""

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bnnhw"

#: Which subpackage may import which: the drawing of docs/architecture.md, lowest layer first.
#: An import not listed here is a layering error, even when it makes no cycle.
ALLOWED = {
    "errors": set(),                     # bnnhw/errors.py: the one error base, imports nothing
    "params": {"errors"},                # bnnhw/params.py: the shared parameter checks
    "golden": {"errors", "params"},
    "toolchain": {"errors"},
    "progress": set(),                   # bnnhw/progress.py: tqdm progress lines, a leaf
    "model": {"errors", "params", "golden"},
    "compiler": {"errors", "params", "model", "golden"},
    "importers": {"errors", "params", "golden", "model"},  # QONNX -> model (docs/import.md)
    "hw": {"errors", "params"},          # never golden, model or compiler: tests connect them
    "design": {"errors", "model", "compiler", "hw"},
    "train": {"errors", "model", "compiler", "golden", "design"},
    "sim": {"errors", "toolchain", "progress", "golden", "model", "compiler", "hw", "train"},
    "cost": {"errors", "params", "model", "compiler", "design"},
    "synth": {"errors", "toolchain", "progress"},
    "energy": {"errors", "params", "golden", "model", "compiler", "hw", "design", "sim", "cost"},
    # protocol, UART, top, table, bitstream, host
    "board": {"errors", "toolchain", "progress", "design", "train", "synth"},
    "build": {"errors", "toolchain", "progress", "golden", "model", "compiler", "hw", "design",
              "train", "sim", "cost", "synth", "energy", "board", "importers"},
    # python -m bnnhw.explore: sweeps of builds on Dask (docs/explore.md)
    "explore": {"errors", "progress", "design", "compiler", "sim", "synth", "build"},
    "host": {"errors", "board"},         # bnnhw/host.py: python -m bnnhw.host, bnnhw.board.host
    "compare": {"errors", "toolchain", "golden", "model", "compiler", "hw", "design", "sim",
                "cost", "synth", "energy", "build"},
}

#: Narrower rules inside an allowed edge: (importer, imported) -> the only modules allowed.
ONLY_MODULES = {
    # sim and the board's host script read the held-out digits (train.data: scikit-learn's data
    # set, no torch); bnnhw/host.py is only the old name of the board's host script
    ("board", "train"): {"bnnhw.train.data"},
    ("host", "board"): {"bnnhw.board.host"},
    ("sim", "train"): {"bnnhw.train.data"},
}

#: Imports that break the drawing today and are kept knowingly. Empty: every edge above holds.
KNOWN_EXCEPTIONS = set()


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted):
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path):
    """``(line, imported module)`` of every import in ``path``, relative ones resolved; ``from
    package import module`` counts as importing that module."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.append((node.lineno, child if _is_module(child) else base))
    return found


def _node(module):
    """The layering node of a ``bnnhw`` module: its subpackage or top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def import_edges():
    """``{(importer node, imported node): ["module:line -> module", ...]}`` across nodes."""
    edges = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _module_name(path)
        for line, target in _imports(path):
            if target.split(".")[0] != "bnnhw":
                continue
            a, b = _node(source), _node(target)
            if a and b and a != b:
                edges[(a, b)].append(f"{source}:{line} -> {target}")
    return dict(edges)


def find_cycle(edges):
    """One cycle of the graph ``edges`` as a list of nodes, or ``None``."""
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path + [nxt])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_every_node_is_placed_in_the_drawing():
    nodes = {_node(_module_name(p)) for p in PACKAGE.rglob("*.py")} - {None}
    assert nodes == set(ALLOWED), ("place every subpackage in ALLOWED and in "
                                   "docs/architecture.md: " + str(nodes ^ set(ALLOWED)))


def test_the_drawing_itself_has_no_cycle():
    assert find_cycle([(a, b) for a, deps in ALLOWED.items() for b in deps]) is None


def test_no_import_cycle_between_subpackages():
    edges = import_edges()
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle " + " -> ".join(cycle) + ":\n" + "\n".join(
        line for a, b in zip(cycle, cycle[1:]) for line in edges[(a, b)])


def test_imports_follow_the_layering_of_docs_architecture():
    wrong = []
    for (a, b), where in sorted(import_edges().items()):
        if (a, b) in KNOWN_EXCEPTIONS:
            continue
        if b not in ALLOWED[a]:
            wrong += [f"{a} may not import {b}: {w}" for w in where]
            continue
        only = ONLY_MODULES.get((a, b))
        if only:
            wrong += [f"{a} may import only {sorted(only)} of {b}: {w}" for w in where
                      if not any(w.endswith(f"-> {m}") for m in only)]
    assert not wrong, "\n".join(wrong)


def test_the_drawing_is_the_one_in_docs_architecture():
    """docs/architecture.md lists, per subpackage, what it may import; it is ALLOWED."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 2 and cells[0].strip("`") in ALLOWED:
            rows[cells[0].strip("`")] = {c.strip("`") for c in cells[1].split(", ")
                                         if c.strip("`") and c != "—"}
    assert rows == ALLOWED


#: Modules a user imports without wanting Amaranth loaded: the host script reads the serial
#: protocol only (``docs/architecture.md``); the board table is pure data.
AMARANTH_FREE = ("bnnhw.host", "bnnhw.board.host", "bnnhw.board.protocol", "bnnhw.board.boards")


def _amaranth_loaded_by(module):
    """The ``amaranth`` modules (first five) that importing ``module`` in a fresh interpreter
    loads."""
    code = (f"import sys, {module}; "
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'amaranth'); "
            "print(' '.join(loaded[:5]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=PACKAGE.parent)
    return result.stdout.strip()


@pytest.mark.parametrize("module", AMARANTH_FREE)
def test_module_loads_no_amaranth(module):
    loaded = _amaranth_loaded_by(module)
    assert loaded == "", f"import {module} loads {loaded}"


def test_the_amaranth_probe_sees_amaranth():
    """The check above is not vacuous: the board top (an Amaranth component) is seen."""
    assert "amaranth" in _amaranth_loaded_by("bnnhw.board.top").split()


# the checker itself: a cycle hidden in a function-level relative import is found


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    root = tmp_path / "bnnhw"
    for sub, text in {"a": "def f():\n    from ..b import x\n",
                      "b": "from ..c.deep import y\n",
                      "c": "def g():\n    from .. import a\n"}.items():
        (root / sub).mkdir(parents=True)
        (root / sub / "__init__.py").write_text(text)
    (root / "c" / "deep.py").write_text("")
    (root / "__init__.py").write_text("")
    monkeypatch.setitem(globals(), "PACKAGE", root)
    return root


def test_checker_finds_a_cycle_hidden_in_function_level_imports(fake_package):
    edges = import_edges()
    assert set(edges) == {("a", "b"), ("b", "c"), ("c", "a")}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
