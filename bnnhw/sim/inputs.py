"""What a simulation feeds a network: an input file, the held-out digits, or seeded random inputs.

``python -m bnnhw.build DESIGN --sim [--inputs FILE]`` (and ``--energy N``) take their inputs
from one *source*, chosen per model by :func:`choose_inputs`:

- ``--inputs FILE``: a ``.npy`` array ``(N, C, H, W)``, or a ``.npz`` holding ``inputs`` (that
  array) and optionally ``labels`` (``N`` integer classes). The values are the model's input
  elements in its declared type (``bits``: 0/1, bit 1 = +1, a bool array is fine; ``int8`` /
  ``uint8``: integers of any integer dtype, compared as they are, never wrapped: a uint64
  ``2**64 - 1`` is a range error naming that value) and must lie in the declared range
  (``input.type``'s range narrowed by ``input.range``). :func:`read_inputs_file` checks the
  file alone, :func:`check_inputs` against the model. For a model imported from an ``.onnx``
  file the file holds what the graph takes instead, float32 NCHW
  (:func:`read_graph_inputs_file`); the build converts it (docs/import.md).
- otherwise the 360 held-out digits (with their labels) when the model's input is ``1 x 8 x 8``
  and its range holds the digits' values ``0 .. 16`` (never for an imported model);
- otherwise :func:`random_inputs`: the all-minimum input, the all-maximum input, then seeded
  uniform random inputs over the declared range (no labels).

Every ``--sim`` writes ``outputs.npz`` (:func:`outputs_npz`: deterministic bytes) into the build
folder. All errors are :class:`InputsError` with a message naming the option and the cause.
"""

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ..compiler.lower import first_outside
from ..errors import BnnhwError

__all__ = ["DEFAULT_RANDOM", "MAX_INPUTS", "RANDOM_SEED", "InputsError", "InputSet",
           "read_inputs_file", "read_graph_inputs_file", "check_inputs", "digits_fit",
           "random_inputs", "choose_inputs", "outputs_npz"]

#: Random inputs simulated without ``--images`` (plus the all-minimum and all-maximum inputs).
DEFAULT_RANDOM = 64
#: At most this many inputs in one simulation (they all sit in the harness ROM).
MAX_INPUTS = 10000
#: Seed of :func:`random_inputs` in a build (the same inputs on every machine).
RANDOM_SEED = 2024

_DIGITS_SHAPE = (1, 8, 8)
_DIGITS_RANGE = (0, 16)
_EPOCH = (1980, 1, 1, 0, 0, 0)
#: Integers up to this magnitude are all exactly float32 (a 24-bit significand).
_FLOAT32_INTEGERS = 2 ** 24


class InputsError(BnnhwError, ValueError):
    """Simulation inputs that cannot be used; the message names the option and the cause."""


@dataclass(frozen=True)
class InputSet:
    """Inputs ``(N, C, H, W)`` (int64), optional ``labels`` ``(N,)`` and where they came from.

    ``source`` is ``"file"``, ``"digits"`` or ``"random"``; ``description`` says it in words;
    ``info`` is what the report records (no absolute paths, no timestamps).
    """

    source: str
    inputs: np.ndarray
    labels: np.ndarray | None
    description: str
    info: dict

    def __len__(self):
        return len(self.inputs)

    def first(self, count):
        """The first ``count`` inputs (and labels) as an :class:`InputSet`."""
        labels = None if self.labels is None else self.labels[:count]
        return InputSet(self.source, self.inputs[:count], labels, self.description,
                        dict(self.info, count=int(min(count, len(self.inputs)))))


_INT64 = (-2 ** 63, 2 ** 63 - 1)


def _integral(array, what):
    """``array`` as int64: bool is 0 / 1; any integer dtype, its values checked against int64
    first (a uint64 ``2**64 - 1`` is an error naming that value, never wrapped to -1)."""
    if array.dtype == np.bool_:
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise InputsError(f"{what}: expected an integer array, got dtype {array.dtype}")
    found = first_outside(array, *_INT64)
    if found is not None:
        index, value, count = found
        raise InputsError(f"{what}: value {value} at {index} is outside int64 "
                          f"[{_INT64[0]}, {_INT64[1]}] (outside every input range; "
                          f"{count} such values)")
    return array.astype(np.int64)


def _load_inputs_file(path):
    """``(inputs, labels or None, where, file bytes)`` of an inputs file: a ``.npy`` array or a
    ``.npz`` with ``inputs`` and optional ``labels``; inputs 4-D with at least one row, labels
    one per input (their dtype not checked yet)."""
    path = Path(path)
    where = f"--inputs: {path}"
    if path.is_dir():
        raise InputsError(f"{where}: is a directory; name a .npy or .npz file")
    if not path.is_file():
        raise InputsError(f"{where}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise InputsError(f"{where}: expected a .npy or .npz file")
    data = path.read_bytes()
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise InputsError(f"{where}: not a readable NumPy file ({error})") from None
    labels = None
    if suffix == ".npz" or isinstance(loaded, np.lib.npyio.NpzFile):
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise InputsError(f"{where}: a .npz must be a NumPy archive (np.savez), got an array")
        with loaded:
            names = sorted(loaded.files)
            unknown = [n for n in names if n not in ("inputs", "labels")]
            if unknown:
                raise InputsError(f"{where}: unknown entry {unknown[0]!r} (expected 'inputs' "
                                  "and optionally 'labels')")
            if "inputs" not in names:
                raise InputsError(f"{where}: no 'inputs' entry (got {names})")
            try:
                inputs = loaded["inputs"]
                labels = loaded["labels"] if "labels" in names else None
            except ValueError as error:
                raise InputsError(f"{where}: {error}") from None
    else:
        inputs = loaded
    inputs = np.asarray(inputs)
    if inputs.ndim != 4:
        raise InputsError(f"{where}: inputs: expected shape (N, C, H, W), got {inputs.shape}")
    if len(inputs) < 1:
        raise InputsError(f"{where}: inputs: expected at least 1 input, got 0")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(inputs),):
            raise InputsError(f"{where}: labels: expected shape ({len(inputs)},) (one per "
                              f"input), got {labels.shape}")
        labels = _integral(labels, f"{where}: labels")
        if len(labels) and labels.min() < 0:
            raise InputsError(f"{where}: labels: expected classes >= 0, got {labels.min()}")
    return inputs, labels, where, data


def _file_info(path, data, labels):
    return {"source": "file", "file": Path(path).name,
            "sha256": hashlib.sha256(data).hexdigest(), "labels": labels is not None}


def read_inputs_file(path):
    """``(inputs, labels or None, info)`` of an inputs file, checked on its own.

    ``inputs`` is int64 ``(N, C, H, W)`` with ``N >= 1``; ``labels`` int64 ``(N,)`` (``>= 0``).
    Raises :class:`InputsError` (``--inputs: FILE: ...``).
    """
    inputs, labels, where, data = _load_inputs_file(path)
    inputs = _integral(inputs, f"{where}: inputs")
    return inputs, labels, _file_info(path, data, labels)


def read_graph_inputs_file(path):
    """``(inputs, labels or None, info)`` of an inputs file for a model imported from ONNX:
    ``inputs`` float32 ``(N, C, H, W)``, exactly what the ONNX graph takes (docs/import.md).

    A float32 array is taken as it is; another integer or float dtype only if every value is a
    float32 exactly (a float64 ``0.1`` is an error naming it: the graph would see another
    number). NaN and infinities are errors. Raises :class:`InputsError`.
    """
    inputs, labels, where, data = _load_inputs_file(path)
    what = f"{where}: inputs"
    if np.issubdtype(inputs.dtype, np.integer):
        inexact = np.abs(inputs.astype(np.float64)) > _FLOAT32_INTEGERS
    elif np.issubdtype(inputs.dtype, np.floating):
        bad = ~np.isfinite(inputs)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputsError(f"{what}: value {inputs[index]} at {index} is not finite "
                              f"({int(bad.sum())} such values)")
        with np.errstate(over="ignore"):
            inexact = inputs.astype(np.float32).astype(inputs.dtype) != inputs
    else:
        raise InputsError(f"{what}: expected float32 values (what the ONNX graph takes), got "
                          f"dtype {inputs.dtype}")
    if inexact.any():
        index = tuple(int(i) for i in np.argwhere(inexact)[0])
        value = inputs[index].item()
        raise InputsError(f"{what}: value {value!r} at {index} is not exactly a float32 "
                          f"(dtype {inputs.dtype}; {int(inexact.sum())} such values); "
                          "the ONNX graph takes float32: save the array as float32")
    as_float32 = inputs.astype(np.float32)
    return as_float32, labels, _file_info(path, data, labels)


def _classes(model):
    output = model.types[model.output]
    return int(np.prod(output.shape))


def check_inputs(model, inputs, labels=None, *, what="--inputs"):
    """Check ``inputs`` (and ``labels``) against ``model``'s declared input; raise
    :class:`InputsError` naming the first offending input, channel, pixel and value."""
    expected = tuple(int(n) for n in model.input_shape)
    if tuple(inputs.shape[1:]) != expected:
        raise InputsError(f"{what}: inputs: expected shape (N, {', '.join(map(str, expected))}) "
                          f"(the model's input.shape), got {tuple(inputs.shape)}")
    lo, hi = (int(v) for v in model.input_range)
    found = first_outside(inputs, lo, hi)
    if found is not None:
        (n, c, y, x), value, count = found
        raise InputsError(
            f"{what}: inputs: input {n} channel {c} pixel ({y}, {x}): value "
            f"{value} outside the model's input range [{lo}, {hi}] "
            f"(input.type {model.input_type!r}"
            + (", narrowed by input.range" if (lo, hi) != _type_range(model.input_type) else "")
            + f"; {count} values outside)")
    if labels is not None:
        classes = _classes(model)
        if len(labels) and labels.max() >= classes:
            index = int(np.argmax(labels >= classes))
            raise InputsError(f"{what}: labels: label {index} is {int(labels[index])}, the "
                              f"model has {classes} classes (0 .. {classes - 1})")


def _type_range(kind):
    return {"int8": (-128, 127), "uint8": (0, 255), "bits": (0, 1)}[kind]


def digits_fit(model):
    """True when the held-out digits are valid inputs of ``model``: a ``1 x 8 x 8`` input
    whose declared range holds ``0 .. 16``."""
    lo, hi = model.input_range
    return tuple(model.input_shape) == _DIGITS_SHAPE and lo <= _DIGITS_RANGE[0] and \
        _DIGITS_RANGE[1] <= hi


def random_inputs(model, count, seed=RANDOM_SEED):
    """``count`` inputs ``(count, C, H, W)`` int64: the all-minimum input, the all-maximum
    input, then seeded uniform random inputs over the declared range.

    Prefix-stable: the first ``k`` inputs do not depend on ``count``.
    """
    lo, hi = (int(v) for v in model.input_range)
    shape = tuple(int(n) for n in model.input_shape)
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(count):
        if index == 0:
            rows.append(np.full(shape, lo, dtype=np.int64))
        elif index == 1:
            rows.append(np.full(shape, hi, dtype=np.int64))
        else:
            rows.append(rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64))
    return np.stack(rows) if rows else np.zeros((0,) + shape, dtype=np.int64)


def choose_inputs(model, *, file_data=None, count=None, energy=None, digits=True):
    """The :class:`InputSet` a build simulates ``model`` on.

    ``file_data`` is :func:`read_inputs_file`'s result (``--inputs``); ``count`` is ``--images``
    (the first ``count`` inputs of a file or of the digits; with random inputs, ``count`` random
    ones besides the two extremes; ``None``: all of a file or the digits, or
    :data:`DEFAULT_RANDOM` random ones); ``energy`` is ``--energy N`` (the set also holds at least
    ``N`` inputs when the source can make them); ``digits=False`` never takes the digits (a
    model imported from ONNX: its integer input is not the digits' pixels, see
    docs/import.md). Raises :class:`InputsError` when the inputs do not fit the model or there
    are fewer than asked for.
    """
    if file_data is not None:
        inputs, labels, info = file_data
        check_inputs(model, inputs, labels)
        described = f"{len(inputs)} inputs from {info['file']}" + \
            (" (labelled)" if labels is not None else "")
        found = InputSet("file", inputs, labels, described, dict(info, count=len(inputs)))
    elif digits and digits_fit(model):
        from ..train.data import held_out
        images, labels = held_out()
        found = InputSet("digits", np.asarray(images, dtype=np.int64),
                         np.asarray(labels, dtype=np.int64), "held-out digits",
                         {"source": "digits", "labels": True, "count": len(images)})
    else:
        randoms = DEFAULT_RANDOM if count is None else count
        total = max(2 + randoms, energy or 0)
        lo, hi = (int(v) for v in model.input_range)
        found = InputSet("random", random_inputs(model, total), None,
                         f"seeded random inputs over [{lo}, {hi}] (first the all-minimum and "
                         f"the all-maximum input)",
                         {"source": "random", "seed": RANDOM_SEED, "range": [lo, hi],
                          "labels": False, "count": total})
        return found
    for option, asked in (("--images", count), ("--energy", energy)):
        if asked is not None and asked > len(found):
            raise InputsError(f"{option}: expected 1 .. {len(found)} (the {found.description} "
                              f"hold {len(found)}), got {asked}")
    return found


def _npy_bytes(array):
    buffer = io.BytesIO()
    array = np.asarray(array)          # a 0-d array stays 0-d (np.ascontiguousarray makes (1,))
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def outputs_npz(arrays):
    """The bytes of a ``.npz`` of ``arrays`` (name -> array) with fixed timestamps and sorted
    entries: the same arrays always give the same bytes (``numpy.load`` reads it). Scalars
    (``logit_scale``) are stored 0-d: ``float(z["logit_scale"])`` works."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, _npy_bytes(arrays[name]))
    return buffer.getvalue()
