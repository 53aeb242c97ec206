"""Read the top module's ports from Verilog and write the place-and-route wrapper around it.

A stream top has wide payload ports (boolnet's output is 204 bits) that exceed the pins of small
packages, and nextpnr-ice40 has no out-of-context mode. So place-and-route runs on a thin wrapper
(:func:`wrapper_verilog`) that keeps every 1-bit port on its own pin and narrows each wide port:

- wide inputs are slices of one shift register fed from pin ``bnnhw_sin`` (one flip-flop per bit),
- wide outputs are XOR-reduced to pin ``bnnhw_xout`` (about one LUT4 per three bits), so no output
  bit is unobserved and Yosys cannot remove the logic behind it.

The wrapper adds no register on the design's side of the outputs: nextpnr's Fmax is the
register-to-register figure of the clock domain, and the paths into the output pins are reported
separately (as I/O paths), so the XOR tree does not enter Fmax. A design without a ``clk`` port
(purely combinational) gets its wide outputs registered instead, so that Fmax measures
input register -> design -> output register.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Port", "WRAPPER_TOP", "module_names", "top_ports", "top_submodules",
           "wrapper_verilog"]

#: Name of the wrapper module (and so of the top of every place-and-route netlist).
WRAPPER_TOP = "bnnhw_synth_wrapper"

_IDENT = r"(?:\\\S+|[A-Za-z_][A-Za-z0-9_$]*)"
_MODULE = re.compile(rf"^\s*module\s+({_IDENT})\s*[(;]", re.MULTILINE)
_PORT = re.compile(
    rf"^\s*(input|output|inout)\s+(?:wire\s+|reg\s+)?(?:signed\s+)?"
    rf"(?:\[\s*(-?\d+)\s*:\s*(-?\d+)\s*\]\s*)?({_IDENT})\s*;",
    re.MULTILINE,
)
_INSTANCE = re.compile(rf"^\s*({_IDENT})\s+({_IDENT})\s*\(", re.MULTILINE)


@dataclass(frozen=True)
class Port:
    """One port of a Verilog module."""

    name: str  #: plain name (without the ``\\`` of an escaped identifier)
    direction: str  #: ``input``, ``output`` or ``inout``
    width: int


def _plain(ident: str) -> str:
    return ident[1:] if ident.startswith("\\") else ident


def _ident(name: str) -> str:
    """A Verilog identifier for ``name`` (escaped if it is not a simple identifier)."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name) else f"\\{name} "


def module_names(verilog: str) -> list[str]:
    """Names of every module defined in ``verilog``, in file order."""
    return [_plain(m.group(1)) for m in _MODULE.finditer(verilog)]


def _module_body(verilog: str, top: str) -> str:
    for match in _MODULE.finditer(verilog):
        if _plain(match.group(1)) == top:
            end = verilog.find("endmodule", match.end())
            if end < 0:
                break
            return verilog[match.start():end]
    raise ValueError(f"module {top!r} not found in the Verilog")


def top_ports(verilog: str, top: str) -> list[Port]:
    """Ports of module ``top`` (non-ANSI declarations, as Yosys/Amaranth write them).

    Raises
    ------
    ValueError
        ``top`` is not defined, or it declares no ports.
    """
    body = _module_body(verilog, top)
    ports = []
    for match in _PORT.finditer(body):
        direction, msb, lsb, ident = match.groups()
        width = abs(int(msb) - int(lsb)) + 1 if msb is not None else 1
        ports.append(Port(_plain(ident), direction, width))
    if not ports:
        raise ValueError(f"module {top!r} declares no ports")
    return ports


def top_submodules(verilog: str, top: str) -> dict[str, str]:
    """Instances of user modules directly inside ``top``: instance name -> module name.

    Only instances of modules defined in ``verilog`` count (not primitives or Yosys cells).
    """
    defined = set(module_names(verilog))
    body = _module_body(verilog, top)
    out = {}
    for match in _INSTANCE.finditer(body):
        module, instance = _plain(match.group(1)), _plain(match.group(2))
        if module in defined and module != top:
            out[instance] = module
    return out


def wrapper_verilog(top: str, ports: list[Port], *, clock: str = "clk") -> tuple[str, dict]:
    """Verilog of the place-and-route wrapper around module ``top`` (see the module docstring).

    Parameters
    ----------
    top : str
        The design's top module.
    ports : list of Port
        Its ports (:func:`top_ports`).
    clock : str, optional
        Name of the design's clock port; if there is none, the wrapper has its own clock pin.

    Returns
    -------
    verilog : str
        Module :data:`WRAPPER_TOP`.
    info : dict
        ``pins`` (package pins used), ``shift_register_bits``, ``xor_reduced_bits``,
        ``registered_output_bits`` and ``clock`` (the clock pin).

    Raises
    ------
    ValueError
        An ``inout`` port (not supported).
    """
    inouts = [p.name for p in ports if p.direction == "inout"]
    if inouts:
        raise ValueError(f"inout ports are not supported by the synthesis wrapper: {inouts}")
    has_clock = any(p.name == clock and p.direction == "input" and p.width == 1 for p in ports)
    clk = clock if has_clock else "bnnhw_clk"
    wide_in = [p for p in ports if p.direction == "input" and p.width > 1]
    wide_out = [p for p in ports if p.direction == "output" and p.width > 1]
    narrow = [p for p in ports if p.width == 1 and p.name != clk]
    sr_bits = sum(p.width for p in wide_in)
    out_bits = sum(p.width for p in wide_out)

    pins = [clk] + [p.name for p in narrow]
    if sr_bits:
        pins.append("bnnhw_sin")
    if out_bits:
        pins.append("bnnhw_xout")
    decl = [f"  input {_ident(clk)};"]
    decl += [f"  {p.direction} {_ident(p.name)};" for p in narrow]
    if sr_bits:
        decl.append("  input bnnhw_sin;")
    if out_bits:
        decl.append("  output bnnhw_xout;")

    body = []
    conns = [f"    .{_ident(clk)}({_ident(clk)})"] if has_clock else []
    conns += [f"    .{_ident(p.name)}({_ident(p.name)})" for p in narrow]
    if sr_bits:
        body.append(f"  reg [{sr_bits - 1}:0] bnnhw_sr = {sr_bits}'d0;")
        shift = "bnnhw_sin" if sr_bits == 1 else f"{{bnnhw_sr[{sr_bits - 2}:0], bnnhw_sin}}"
        body.append(f"  always @(posedge {_ident(clk)}) bnnhw_sr <= {shift};")
        lsb = 0
        for p in wide_in:
            conns.append(f"    .{_ident(p.name)}(bnnhw_sr[{lsb + p.width - 1}:{lsb}])")
            lsb += p.width
    if out_bits:
        body.append(f"  wire [{out_bits - 1}:0] bnnhw_out;")
        lsb = 0
        for p in wide_out:
            conns.append(f"    .{_ident(p.name)}(bnnhw_out[{lsb + p.width - 1}:{lsb}])")
            lsb += p.width
        if has_clock:
            body.append("  assign bnnhw_xout = ^bnnhw_out;")
        else:
            body.append(f"  reg [{out_bits - 1}:0] bnnhw_out_q = {out_bits}'d0;")
            body.append(f"  always @(posedge {_ident(clk)}) bnnhw_out_q <= bnnhw_out;")
            body.append("  assign bnnhw_xout = ^bnnhw_out_q;")
    header = ", ".join(_ident(p) for p in pins)
    text = "\n".join([
        "// Generated by bnnhw.synth: place-and-route wrapper (narrow ports on pins, wide inputs",
        "// from a shift register, wide outputs XOR-reduced to one pin).",
        f"module {WRAPPER_TOP}({header});",
        *decl,
        *body,
        f"  {_ident(top)} bnnhw_dut (",
        ",\n".join(conns),
        "  );",
        "endmodule",
        "",
    ])
    info = {
        "pins": len(pins),
        "clock": clk,
        "shift_register_bits": sr_bits,
        "xor_reduced_bits": out_bits,
        "registered_output_bits": 0 if has_clock else out_bits,
    }
    return text, info
