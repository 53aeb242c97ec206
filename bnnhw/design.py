"""A design and its pipeline: folder -> model -> compiled -> folding plan -> hardware plan ->
images and network.

:class:`Design` is the one place that turns a design folder (``designs/<name>/``: ``model.npz``
and an optional ``design.json``) into the objects every later stage reads. Each stage is
computed once, when first asked for, and kept: ``python -m bnnhw.build``, the energy proxy
(:func:`bnnhw.energy.design_energy`), the host script (:mod:`bnnhw.host`), ``bnnhw.compare`` and
``bnnhw.cost`` all go through it, so they see the same compiled network and the same folding.

Locating a design (:func:`find_design`): a path to a folder, else ``designs/<name>/`` in the
working directory, then in the source checkout.

Stages raise their own layer's errors (``ModelError``, ``ConversionError``, ``FoldingError``,
``NetworkError``); :class:`DesignError` is a name or folder that is no design. Only
:attr:`Design.network` and :attr:`Design.verilog` import Amaranth.
"""

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from .errors import BnnhwError

__all__ = ["DesignError", "Design", "Images", "MODEL_FILE", "CONFIG_FILE", "design_roots",
           "known_designs", "find_design", "read_config", "folding_options"]

#: File every design directory holds once it is trained (see docs/model-format.md).
MODEL_FILE = "model.npz"
#: Optional build settings of a design: ``{"folding": {"target_cycles": N} | {"max_lanes": N},
#: "overrides": {layer: [pe, simd]}, "weights": "rom" | "logic" | "auto"}}``.
CONFIG_FILE = "design.json"
_FOLDING_KEYS = {"target_cycles", "max_lanes", "overrides", "weights"}
#: The keys a ``design.json`` may hold: ``folding`` (the build's, :func:`folding_options`),
#: ``architecture`` and ``training`` (``python -m bnnhw.train``), ``readme_notes`` (lines the
#: trainer adds to the design's README). Any other key (a typo such as ``foldin``) is an error.
CONFIG_KEYS = frozenset({"folding", "architecture", "training", "readme_notes"})


class DesignError(BnnhwError, ValueError):
    """A design name or directory that cannot be built; the message says why."""


def design_roots():
    """Folders searched for designs: ``./designs`` then the checkout's ``designs/``."""
    roots = [Path.cwd() / "designs", Path(__file__).resolve().parents[1] / "designs"]
    unique = []
    for root in roots:
        if root.is_dir() and root.resolve() not in [r.resolve() for r in unique]:
            unique.append(root)
    return unique


def known_designs():
    """Names of the design folders found in :func:`design_roots`, sorted."""
    return sorted({p.name for root in design_roots() for p in root.iterdir() if p.is_dir()})


def find_design(name):
    """The directory of design ``name`` (a name under ``designs/`` or a path to a folder)."""
    candidate = Path(name)
    if candidate.is_dir():
        return candidate
    if candidate.exists():
        raise DesignError(f"design: {name!r} is a file, expected a design name or folder")
    if "/" in name or name in (".", ".."):
        raise DesignError(f"design: folder {name!r} does not exist")
    for root in design_roots():
        if (root / name).is_dir():
            return root / name
    available = ", ".join(known_designs())
    if not available:
        raise DesignError(
            f"design: {name!r} not found: this checkout has no trained designs yet "
            "(designs/ is empty)")
    raise DesignError(f"design: unknown design {name!r} (available: {available})")


def read_config(design_dir):
    """The design's build settings (``design.json``), ``{}`` if it has none; a key other than
    :data:`CONFIG_KEYS` (or in ``folding``, other than its three) is a :class:`DesignError`."""
    path = Path(design_dir) / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DesignError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise DesignError(f"{path}: expected a JSON object with keys among "
                          f"{sorted(CONFIG_KEYS)}, got {type(config).__name__}")
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        raise DesignError(f"{path}: {unknown[0]}: unknown key (design.json holds only "
                          f"{', '.join(sorted(CONFIG_KEYS))})")
    folding = config.get("folding", {})
    if not isinstance(folding, dict) or set(folding) - _FOLDING_KEYS:
        raise DesignError(f"{path}: folding: expected an object with keys among "
                          f"{sorted(_FOLDING_KEYS)}, got {folding!r}")
    return config


def folding_options(config, target_cycles=None, weights=None):
    """``plan_folding`` keyword arguments from a design's ``config``; ``target_cycles`` (the
    build's ``--target-cycles``) replaces the design's own target and keeps its overrides and
    weight mode; ``weights`` (``--weights``) replaces the design's weight mode."""
    folding = dict(config.get("folding", {}))
    if target_cycles is not None:
        folding = {"target_cycles": target_cycles, "overrides": folding.get("overrides", {}),
                   **({"weights": folding["weights"]} if "weights" in folding else {})}
    if weights is not None:
        folding["weights"] = weights
    folding["overrides"] = {name: tuple(value)
                            for name, value in folding.pop("overrides", {}).items()}
    return folding


@dataclass(frozen=True)
class Images:
    """The ROM images of a design: ``files`` (name -> ``$readmemh`` bytes) and ``memory_map``
    (``memory_map.json``'s content), as :func:`bnnhw.compiler.memory_images` returns them."""

    files: dict
    memory_map: dict


class Design:
    """One design, built lazily: every stage once, in order, on first use.

    Parameters
    ----------
    folder : path-like
        The design folder (``model.npz``, optional ``design.json``).
    config : dict, optional
        Its build settings; default: read from ``design.json`` (:func:`read_config`).
    target_cycles : int, optional
        Fold every layer to at most this many cycles per inference (replaces the config's
        target, keeps its per-layer overrides).
    weights : str, optional
        Weight mode ``rom`` / ``logic`` / ``auto`` (replaces the config's ``folding.weights``;
        :func:`bnnhw.compiler.plan_folding`).
    model : bnnhw.model.Model, optional
        An already loaded model (default: ``folder/model.npz``).
    name : str, optional
        The design's name (default: the folder's name). A design built from an ``.onnx`` file
        (``python -m bnnhw.build model.onnx``) passes the file as ``folder``, the imported
        ``model``, ``config={}`` and the file's stem as a Verilog identifier.
    """

    def __init__(self, folder, *, config=None, target_cycles=None, model=None, name=None,
                 weights=None):
        self.folder = Path(folder)
        self.config = read_config(self.folder) if config is None else config
        self.target_cycles = target_cycles
        self.weights = weights
        self._name = name
        if model is not None:
            self.model = model

    @classmethod
    def find(cls, name, **options):
        """The design called ``name`` (:func:`find_design`); ``options`` as for the class."""
        return cls(find_design(name), **options)

    @property
    def name(self):
        """The design's name (``boolnet``: the folder's, unless given), which names the top
        module."""
        return self.folder.name if self._name is None else self._name

    @property
    def model_file(self):
        return self.folder / MODEL_FILE

    @property
    def top(self):
        """The Verilog top module's name."""
        return f"bnnhw_{self.name}"

    @cached_property
    def model(self):
        """The validated model (``bnnhw.model.Model``); ``DesignError`` if there is none yet."""
        from .model import load
        if not self.model_file.is_file():
            raise DesignError(f"{self.model_file} does not exist; train and export the design "
                              "first")
        return load(self.model_file)

    @cached_property
    def compiled(self):
        """The integer network (:func:`bnnhw.compiler.lower`)."""
        from .compiler import lower
        return lower(self.model)

    @cached_property
    def plan(self):
        """The folding plan (:func:`bnnhw.compiler.plan_folding`) of :attr:`compiled`."""
        from .compiler import plan_folding
        return plan_folding(self.compiled, **folding_options(self.config, self.target_cycles,
                                                             self.weights))

    @cached_property
    def hardware(self):
        """The hardware plan (:func:`bnnhw.compiler.hardware_plan`): engines, fusion, ROM
        words; what :attr:`images` writes and :attr:`network` elaborates."""
        from .compiler import hardware_plan
        return hardware_plan(self.compiled, self.plan)

    @cached_property
    def images(self):
        """The ROM images and memory map (:class:`Images`) of :attr:`hardware`."""
        from .compiler import plan_images
        return Images(*plan_images(self.hardware))

    @cached_property
    def network(self):
        """The streaming network (``bnnhw.hw.network.StreamingNetwork``, not elaborated) of
        :attr:`hardware`."""
        from .hw.network import StreamingNetwork
        return StreamingNetwork(self.hardware)

    @cached_property
    def verilog(self):
        """The network as Verilog text, top module :attr:`top`.

        No ``(* src = "<absolute path>" *)`` attributes: the same design gives the same bytes in
        any checkout and on any machine.
        """
        from amaranth.back import verilog
        return verilog.convert(self.network, name=self.top, emit_src=False)
