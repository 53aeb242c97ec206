"""``bnnhw.hw`` reads no hex: ROM words come in as integers (the compiler's hardware plan).

Every module under ``bnnhw/hw`` is parsed with ``ast`` and searched for hex decoding: ``int(x,
16)`` (or ``base=16`` / ``base=0``), ``.fromhex(...)``, ``unhexlify`` / ``a2b_hex``, and any
string outside a docstring that names ``readmemh`` or a ``.hex`` file (a module that loads an
image or emits ``$readmemh``). Docstrings may mention images; code may not read them. That hw
imports no compiler is ``tests/test_layering.py``'s job.
"""

import ast
from pathlib import Path

import pytest

HW = Path(__file__).resolve().parents[2] / "bnnhw" / "hw"

HEX_FUNCTIONS = {"fromhex", "unhexlify", "a2b_hex"}


def _docstrings(tree):
    """The ``Constant`` nodes that are docstrings of the module, a class or a function."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found.add(id(body[0].value))
    return found


def _is_hex_base(node):
    return isinstance(node, ast.Constant) and node.value in (16, 0) and type(node.value) is int


def hex_reading(source, filename="<source>"):
    """``[(line, what)]``: every place in ``source`` that decodes hex or names a hex image."""
    tree = ast.parse(source, filename=filename)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else None
            if name == "int" and (
                    (len(node.args) >= 2 and _is_hex_base(node.args[1]))
                    or any(k.arg == "base" and _is_hex_base(k.value) for k in node.keywords)):
                found.append((node.lineno, "int(..., 16)"))
            elif name in HEX_FUNCTIONS:
                found.append((node.lineno, f"{name}(...)"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            text = node.value.lower()
            if "readmemh" in text or ".hex" in text:
                found.append((node.lineno, f"string {node.value!r}"))
    return found


@pytest.mark.parametrize("snippet", [
    "words = [int(line, 16) for line in text.split()]",
    "word = int(line, base=16)",
    "word = int(line, 0)",
    "data = bytes.fromhex(line)",
    "import binascii\ndata = binascii.unhexlify(line)",
    "name = f'{layer}.weights.pe{p}.hex'",
    "verilog = '$readmemh(\"rom.hex\", mem);'",
    "def f(path):\n    'Read an image.'\n    return open(path + '.hex').read()",
])
def test_the_search_finds_hex_reading(snippet):
    assert hex_reading(snippet)


@pytest.mark.parametrize("snippet", [
    '"""Words of the ``.hex`` image, as ``$readmemh`` reads them."""',
    "def f(words):\n    '''Words of ``<layer>.weights.pe<p>.hex``.'''\n    return int(words)",
    "init = Const(value, 16)",
    "value = int(word) & 0xFFFF",
])
def test_the_search_passes_docstrings_and_plain_ints(snippet):
    assert hex_reading(snippet) == []


def test_no_module_under_hw_reads_hex():
    paths = sorted(HW.rglob("*.py"))
    assert len(paths) > 10 and HW / "network" / "top.py" in paths
    found = {path.relative_to(HW.parents[1]).as_posix(): hits for path in paths
             if (hits := hex_reading(path.read_text(), str(path)))}
    assert found == {}
