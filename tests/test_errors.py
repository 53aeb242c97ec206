"""One error base: every error class of bnnhw is a ``bnnhw.errors.BnnhwError``, with one message
format (``layer 'conv1': weight: ...``), and every command-line entry prints one of them as one
line instead of a traceback."""

import ast
import builtins
import importlib
from pathlib import Path

import pytest

from bnnhw.errors import BnnhwError, LayerError, error_text

PACKAGE = Path(__file__).resolve().parents[1] / "bnnhw"

#: Built-in exception names (``ValueError``, ``AssertionError``, ...).
BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)}


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exception_classes_by_source():
    """``{module: {class names}}`` of every class in ``bnnhw`` that looks like an exception in
    the source: a name ending in Error / Exception / Failure / Timeout, or a base that does, or a
    built-in exception as a base."""
    suffixes = ("Error", "Exception", "Failure", "Timeout")
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [ast.unparse(base).rpartition(".")[2] for base in node.bases]
            if (node.name.endswith(suffixes) or any(b.endswith(suffixes) for b in bases)
                    or set(bases) & BUILTIN_EXCEPTIONS):
                found.setdefault(_module_name(path), set()).add(node.name)
    return found


def _exception_classes():
    """Every exception class defined in a module of ``bnnhw`` that defines one (imported)."""
    classes = {}
    for module_name in _exception_classes_by_source():
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (isinstance(value, type) and issubclass(value, BaseException)
                    and value.__module__ == module_name):
                classes[f"{module_name}.{name}"] = value
    return classes


def test_the_walk_finds_the_error_classes():
    """Not vacuous: the walk sees the source's exception classes, the known ones among them."""
    by_source = {f"{m}.{n}" for m, names in _exception_classes_by_source().items() for n in names}
    classes = _exception_classes()
    assert by_source <= set(classes) | {"bnnhw.errors.BnnhwError", "bnnhw.errors.LayerError"}
    for name in ("bnnhw.model.errors.ModelError", "bnnhw.compiler.folding.FoldingError",
                 "bnnhw.compiler.quantize.ConversionError", "bnnhw.build.config.BuildError",
                 "bnnhw.design.DesignError", "bnnhw.synth.flow.SynthError",
                 "bnnhw.toolchain.ToolchainError", "bnnhw.board.protocol.BoardError",
                 "bnnhw.sim.inputs.InputsError", "bnnhw.sim.runner.SimBuildError",
                 "bnnhw.hw.network.NetworkError"):
        assert name in classes
    assert len(classes) >= 20


def test_every_error_class_derives_from_bnnhw_error():
    wrong = sorted(name for name, cls in _exception_classes().items()
                   if not issubclass(cls, BnnhwError))
    assert wrong == []


def test_there_is_one_board_error():
    from bnnhw.board import bitstream, protocol
    from bnnhw.build import board
    assert bitstream.BoardError is protocol.BoardError is board.BoardError
    names = [name for name in _exception_classes() if name.endswith(".BoardError")]
    assert names == ["bnnhw.board.protocol.BoardError"]


# the built-in exceptions each error was before the common base, still kept
KEPT_BASES = [
    ("bnnhw.model", "ModelError", ValueError),
    ("bnnhw.params", "ParameterError", ValueError),
    ("bnnhw.params", "ParameterError", TypeError),
    ("bnnhw.compiler", "ConversionError", ValueError),
    ("bnnhw.compiler.folding", "FoldingError", ValueError),
    ("bnnhw.cost.resolve", "CostError", ValueError),
    ("bnnhw.design", "DesignError", ValueError),
    ("bnnhw.sim.inputs", "InputsError", ValueError),
    ("bnnhw.sim.runner", "CocotbFailure", AssertionError),
    ("bnnhw.sim.runner", "SimBuildError", RuntimeError),
    ("bnnhw.compare.micro", "MicroError", RuntimeError),
    ("bnnhw.compare.designs", "CompareError", RuntimeError),
    ("bnnhw.build.outdir", "OutError", ValueError),
    ("bnnhw.build", "BuildError", RuntimeError),
    ("bnnhw.hw.network", "NetworkError", ValueError),
    ("bnnhw.toolchain", "ToolchainError", RuntimeError),
    ("bnnhw.toolchain", "YosysError", RuntimeError),
    ("bnnhw.synth", "SynthError", RuntimeError),
    ("bnnhw.energy.coverage", "CoverageError", ValueError),
    ("bnnhw.board.protocol", "ProtocolError", ValueError),
    ("bnnhw.board.protocol", "BoardError", RuntimeError),    # an error reply
    ("bnnhw.board.bitstream", "BoardError", ValueError),     # a design that does not fit
    ("bnnhw.board.host", "HostError", RuntimeError),
    ("bnnhw.host", "ReplyTimeout", RuntimeError),
]


@pytest.mark.parametrize("module, name, base", KEPT_BASES,
                         ids=[f"{m}.{n}-{b.__name__}" for m, n, b in KEPT_BASES])
def test_each_error_keeps_its_builtin_base_and_import_path(module, name, base):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, BnnhwError) and issubclass(cls, base)


# --- the one message format ----------------------------------------------------------------------


def test_error_text_names_layer_then_field_then_message():
    assert error_text("expected ±1 values", "conv1", "weight") == \
        "layer 'conv1': weight: expected ±1 values"
    assert error_text("expected a JSON object", None, "meta", scope="model") == \
        "model: meta: expected a JSON object"
    assert error_text("give a cycle target", None, "target_cycles") == \
        "target_cycles: give a cycle target"
    assert error_text("no reply") == "no reply"


def test_plain_error_keeps_its_message_and_has_no_layer_or_field():
    from bnnhw.build import BuildError
    error = BuildError("--synth: unknown target 'x'")
    assert str(error) == "--synth: unknown target 'x'"
    assert (error.layer, error.field, error.message) == (None, None, "--synth: unknown target 'x'")


def test_bnnhw_error_with_layer_and_field_keywords():
    error = BnnhwError("does not fit 8 bits", layer="dense1", field="bias")
    assert str(error) == "layer 'dense1': bias: does not fit 8 bits"
    assert (error.layer, error.field, error.message) == ("dense1", "bias", "does not fit 8 bits")


def test_model_error_message_and_attributes():
    from bnnhw.model import ModelError
    error = ModelError("conv1", "weight", "expected ±1 values, found 0 at (3, 0, 1, 1)")
    assert str(error) == "layer 'conv1': weight: expected ±1 values, found 0 at (3, 0, 1, 1)"
    assert (error.layer, error.field) == ("conv1", "weight")
    assert error.message == "expected ±1 values, found 0 at (3, 0, 1, 1)"
    whole = ModelError(None, "version", "expected 1, got 2")
    assert str(whole) == "model: version: expected 1, got 2"
    assert (whole.layer, whole.field) == (None, "version")


def test_folding_error_message_and_attributes():
    from bnnhw.compiler.folding import FoldingError
    error = FoldingError("fc1", "pe", "3 does not divide the layer's 10 rows")
    assert str(error) == "layer 'fc1': pe: 3 does not divide the layer's 10 rows"
    assert (error.layer, error.field, error.message) == \
        ("fc1", "pe", "3 does not divide the layer's 10 rows")
    whole = FoldingError(None, "target_cycles", "expected a positive integer, got 0")
    assert str(whole) == "target_cycles: expected a positive integer, got 0"
    assert isinstance(whole, LayerError)


def test_network_error_message_and_attributes():
    from bnnhw.hw.network import NetworkError
    error = NetworkError("pool1", "op", "'foo' layers have no hardware")
    assert str(error) == "layer 'pool1': op: 'foo' layers have no hardware"
    assert (error.layer, error.field) == ("pool1", "op")


def test_real_model_error_from_the_loader_keeps_its_text(tmp_path):
    import json

    import numpy as np

    from bnnhw.model import ModelError, load
    path = tmp_path / "m.npz"
    np.savez(path, graph=np.frombuffer(json.dumps({"format": "nope"}).encode(), np.uint8))
    with pytest.raises(ModelError) as caught:
        load(path)
    assert str(caught.value).startswith("model: ")
    assert caught.value.layer is None and caught.value.field == caught.value.args[0].split(
        ": ")[1]


def test_board_error_reply_and_overflows():
    from bnnhw.board import protocol as bp
    code = sorted(bp.ERROR_NAMES)[0]
    error = bp.BoardError.reply(code)
    assert error.code == code and error.overflows == []
    assert str(error) == f"board error 0x{bp.ERROR_BASE | code:02X}: {bp.ERROR_NAMES[code]}"
    fit = bp.BoardError("board: does not fit", overflows=[{"resource": "LC"}])
    assert fit.code is None and fit.overflows == [{"resource": "LC"}]


# --- every command-line entry prints our errors as one line --------------------------------------


def _cli_cases():
    """``(id, main module, attribute to replace, argv)`` of each CLI's worker function."""
    return [
        ("build", "bnnhw.build.__main__", "run_build", ["boolnet"]),
        ("compare", "bnnhw.compare.__main__", "compare", ["boolnet", "--energy", "0"]),
        ("cost", "bnnhw.cost.__main__", "cost_of", ["boolnet"]),
        ("energy", "bnnhw.energy.__main__", "design_energy", ["boolnet"]),
        ("synth", "bnnhw.synth.__main__", "synthesize", ["build/boolnet"]),
        ("host", "bnnhw.board.host", "run", ["--port", "x", "--design", "boolnet",
                                             "--held-out", "1"]),
        ("toolchain", "bnnhw.toolchain", "check", []),
    ]


@pytest.mark.parametrize("error", [
    pytest.param(("bnnhw.model", "ModelError", ("conv1", "weight", "expected ±1 values")),
                 id="ModelError"),
    pytest.param(("bnnhw.sim.runner", "SimBuildError", ("verilator failed",)),
                 id="SimBuildError"),
    pytest.param(("bnnhw.hw.network", "NetworkError", ("fc", "op", "no hardware")),
                 id="NetworkError"),
])
@pytest.mark.parametrize("case", _cli_cases(), ids=[c[0] for c in _cli_cases()])
def test_cli_prints_any_bnnhw_error_without_traceback(case, error, monkeypatch, capsys):
    name, module_name, worker, argv = case
    module = importlib.import_module(module_name)
    cls = getattr(importlib.import_module(error[0]), error[1])
    raised = cls(*error[2])

    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(module, worker, fail)
    if name == "compare":
        monkeypatch.setattr("bnnhw.design.find_design", lambda design: Path(design))
    assert module.main(argv) == 1
    err = capsys.readouterr().err
    assert f"bnnhw.{name}: error: " in err and str(raised) in err and "Traceback" not in err
