"""The model fuzzer's long campaign: random valid networks through RTL, mutated files through
load / compile / generate. Results: ``benchmarks/results/fuzz.json`` and ``fuzz.md``.

Run by hand (about 25 minutes on a 2-core machine for the defaults)::

    python benchmarks/fuzz.py [--networks 300] [--mutations 2000] [--golden-only 2000]
                              [--batch 24] [--seed 0]

1. **Mutations** (``tests/fuzz/mutations.py``): ``--mutations`` random valid models, each
   mutated once or twice (and sometimes its file's bytes damaged), then loaded, lowered,
   planned, imaged and generated (``StreamingNetwork`` elaborated) as ``bnnhw/build/steps.py``
   does; a model that is still accepted is also checked float reference == golden. Each must end
   ``ok`` or in ONE named error; any other exception is a *traceback*, more than 60 s a *hang*.
2. **More valid models**, ``--golden-only`` of them (half including grouped int8 and PA-Net
   convolutions, which the streaming generator refuses with a named ``NetworkError``): float
   reference == golden, then generation, without simulation.
3. **Random networks** (``tests/fuzz/strategies.py``): float reference == golden on random,
   all-minimum and all-maximum inputs, then the network is generated; ``--networks`` of them are
   simulated under Verilator, ``--batch`` networks per build (``tests/fuzz/rtl.py``), each at
   full rate and with 30 % random stalls on both ends: RTL == golden on every logit and label,
   no hang (no result within 20 intervals + 5000 cycles), no extra output.

Every op and attribute value the networks used is counted (``features``); the report flags any
seen fewer than 10 times. Results are rewritten after every batch, so an interrupted campaign
still leaves its counts.
"""

import argparse
import json
import platform
import re
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz import mutations as mutation_module  # noqa: E402
from tests.fuzz import strategies  # noqa: E402
from tests.fuzz.check import (check_golden, check_rtl, classify_error, pipeline,  # noqa: E402
                              time_limit)
from tests.fuzz.mutations import file_damage, graph_json, mutate, write_mutant  # noqa: E402
from tests.fuzz.strategies import RandomChooser, features, random_model  # noqa: E402

#: Bugs the fuzzer found in bnnhw/hw, fixed with a regression test each.
HW_FINDINGS = [
    ("clip stage before a quantized batch norm formed 2p - N in a signed width too narrow for "
     "2p: XNOR dense N = 12, clip 127, all-zeros input gave logit -20 instead of 12 (issue 14 "
     "item 1)", "bnnhw/hw/network.py clip_dot",
     "tests/hw/test_clip_stage.py (exhaustive over every popcount, N = 1 .. 257)"),
    ("a panet_conv2d reading a per-channel engine (threshold, ..): the producer asked for the "
     "reader's kernel from params['weight'] -> KeyError 'weight'",
     "bnnhw/hw/network.py StreamingNetwork._geometry",
     "tests/hw/test_network_fuzz_regressions.py::test_panet_conv_reading_a_channel_engine_builds"),
    ("a value whose range is one number ([0, 0]: an all-zero int8 layer without bias) got a "
     "0-bit stream element -> ValueError 'width: 0' from the requantize engine's serializer",
     "bnnhw/hw/engines.py PixelFormat.for_range",
     "tests/hw/test_network_fuzz_regressions.py::test_constant_value_gets_a_one_bit_element"),
]

RESULTS = HERE / "results"
MIN_COUNT = 10
EXAMPLES = 5                    # repros kept per failure class


def _example(graph, extra):
    return {"graph": graph_json(graph)[:4000], **extra}


class Campaign:
    def __init__(self, args):
        self.args = args
        self.started = time.monotonic()
        self.data = {
            "command": "python benchmarks/fuzz.py " + " ".join(sys.argv[1:]),
            "settings": {"networks": args.networks, "mutations": args.mutations,
                         "golden_only": args.golden_only,
                         "batch": args.batch, "seed": args.seed},
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            "excluded_patterns": {"generator": dict(strategies.EXCLUDE),
                                  "mutations": dict(mutation_module.EXCLUDE)},
            "mutations": {"run": 0, "outcomes": {}, "by_operator": {}, "examples": {}},
            "golden_only": {"run": 0, "outcomes": {}, "examples": {}},
            "networks": {"generated": 0, "golden_checked": 0, "rtl_simulated": 0,
                         "rtl_batches": 0, "outcomes": {}, "examples": {},
                         "features": {}, "cycles_per_inference_max": 0},
            "totals": {},
            "seconds": {},
        }
        this = self.data["command"]
        self.data["phase_commands"] = {phase: this for phase in args.only}
        previous = Path(args.out) / "fuzz.json"
        if args.update and previous.is_file():
            # keep the phases not run now from the last campaign (its settings say which)
            old = json.loads(previous.read_text())
            self.data["notes"] = old.get("notes", [])
            for phase, section in (("mutations", "mutations"), ("golden", "golden_only"),
                                   ("networks", "networks")):
                if phase not in args.only:
                    self.data[section] = old[section]
                    self.data["phase_commands"][phase] = old.get("phase_commands", {}).get(
                        phase, old["command"])
                    key = {"golden": "golden_only"}.get(phase, phase)
                    self.data["settings"][key] = old["settings"].get(key)
                    for name in (section, "total"):
                        if name in old["seconds"]:
                            self.data["seconds"][name] = old["seconds"][name]


    # --- bookkeeping ---------------------------------------------------------------------

    def count(self, section, outcome, example=None):
        part = self.data[section]
        part["outcomes"][outcome] = part["outcomes"].get(outcome, 0) + 1
        if example is not None and not outcome.startswith(("ok", "named:")):
            part["examples"].setdefault(outcome, [])
            if len(part["examples"][outcome]) < EXAMPLES:
                part["examples"][outcome].append(example)

    def totals(self):
        m, n = self.data["mutations"]["outcomes"], self.data["networks"]["outcomes"]
        g = self.data["golden_only"]["outcomes"]
        bad = lambda outcomes, prefix: sum(v for k, v in outcomes.items()  # noqa: E731
                                           if k.startswith(prefix))
        self.data["totals"] = {
            "disagreements": bad(m, "disagree") + bad(n, "disagree") + bad(g, "disagree"),
            "tracebacks": bad(m, "traceback") + bad(n, "traceback") + bad(g, "traceback"),
            "hangs": bad(m, "hang") + bad(n, "hang") + bad(g, "hang"),
            "valid_models_rejected": bad(n, "named:") + bad(g, "named:"),
            "valid_models_golden_checked": self.data["networks"]["golden_checked"]
            + self.data["golden_only"]["run"],
            "networks_through_rtl": self.data["networks"]["rtl_simulated"],
            "mutated_files": self.data["mutations"]["run"],
        }
        feats = self.data["networks"]["features"]
        for feature in strategies.EXPECTED_FEATURES:        # zeros too
            feats.setdefault(feature, 0)
        self.data["rare_features"] = sorted(k for k, v in feats.items() if v < MIN_COUNT)

    def save(self):
        self.totals()
        self.data["seconds"]["this_run"] = round(time.monotonic() - self.started, 1)
        self.data["seconds"]["total"] = round(sum(
            self.data["seconds"].get(k, 0) for k in ("mutations", "golden_only", "networks")), 1)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = Path(self.args.out)
        (out / "fuzz.json").write_text(json.dumps(self.data, indent=1, sort_keys=True) + "\n")
        (out / "fuzz.md").write_text(markdown(self.data))

    def log(self, message):
        print(f"[{time.monotonic() - self.started:7.1f} s] {message}", flush=True)

    # --- phase 1: mutations ----------------------------------------------------------------

    def probe_known_bugs(self):
        from tests.fuzz.known_bugs import KNOWN_BUGS, open_bugs, probe, repro_json
        rows = {}
        for key, (where, what, _, _) in sorted(KNOWN_BUGS.items()):
            failing, outcome = probe(key)
            rows[key] = {"where": where, "what": what, "still_fails": failing,
                         "excluded": key in open_bugs(), "outcome_now": outcome,
                         "repro": repro_json(key)}
        self.data["known_bugs"] = rows
        self.data["hw_findings"] = [{"what": w, "where": f, "test": t} for w, f, t in HW_FINDINGS]

    def run_mutations(self):
        started = time.monotonic()
        part = self.data["mutations"]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.npz"
            for index in range(self.args.mutations):
                ch = RandomChooser(self.args.seed * 10 ** 7 + 10 ** 6 + index)
                graph, arrays = random_model(ch)
                mutant, mutant_arrays, what, names = mutate(graph, arrays, ch)
                written = write_mutant(mutant, mutant_arrays, path)
                if written and ch.bool(0.1):
                    what.append(file_damage(path, ch))
                    names.append("file_damage")
                try:
                    with time_limit(60):
                        result = pipeline(path if written else None, mutant, mutant_arrays,
                                          target_cycles=ch.choice([None, 64]))
                except Exception as error:      # noqa: BLE001 - a hang, classified
                    result = {"outcome": classify_error(error), "stage": "?",
                              "error": repr(error)}
                outcome = result["outcome"]
                part["run"] += 1
                for name in names or ["(none applied)"]:
                    row = part["by_operator"].setdefault(name, {})
                    key = "ok" if outcome.startswith("ok") else outcome.split(":")[0]
                    row[key] = row.get(key, 0) + 1
                self.count("mutations", outcome, _example(mutant, {
                    "seed_index": index, "mutations": what, "stage": result.get("stage"),
                    "error": result.get("error"), "trace": result.get("trace", "")[-1500:]}))
                if (index + 1) % 500 == 0:
                    self.log(f"mutations: {index + 1}/{self.args.mutations}: "
                             f"{dict(part['outcomes'])}")
        self.data["seconds"]["mutations"] = round(time.monotonic() - started, 1)
        self.save()

    # --- phase 2: many more valid models, reference vs golden and generation only ----------

    def run_golden_only(self):
        """Valid models, including patterns the streaming generator does not build (grouped
        int8 / PA-Net convolutions, ``rtl=False``): reference == golden, then generation ends
        in a network or one named error."""
        started = time.monotonic()
        part = self.data["golden_only"]
        for index in range(self.args.golden_only):
            seed = self.args.seed * 10 ** 7 + 5 * 10 ** 6 + index
            ch = RandomChooser(seed)
            graph, arrays = random_model(ch, rtl=index % 2 == 1)
            try:
                with time_limit(120):
                    result = check_golden(graph, arrays, images=6, seed=seed,
                                          target_cycles=ch.choice([None, 32, 64, 256, 1024]))
            except Exception as error:          # noqa: BLE001 - a hang, classified
                result = {"outcome": classify_error(error), "stage": "?", "error": repr(error)}
            part["run"] += 1
            outcome = result["outcome"]
            if outcome.startswith("named:"):          # grouped by message, not by layer
                message = re.sub(r"layer '[^']*'", "layer", result.get("error", ""))
                outcome += f" ({re.sub(r'=[0-9]+', '=n', message)[:160]})"
            self.count("golden_only", outcome, _example(graph, {
                "seed": seed, "stage": result.get("stage"), "error": result.get("error"),
                "where": result.get("where"), "trace": result.get("trace", "")[-1500:]}))
            if (index + 1) % 500 == 0:
                self.log(f"golden only: {index + 1}/{self.args.golden_only}")
        self.data["seconds"]["golden_only"] = round(time.monotonic() - started, 1)
        self.save()

    # --- phase 3: networks -----------------------------------------------------------------

    def run_networks(self):
        from tests.fuzz.rtl import simulate_batch

        started = time.monotonic()
        part = self.data["networks"]
        index = 0
        work = Path(tempfile.mkdtemp(prefix="bnnhw-fuzz-"))
        while part["rtl_simulated"] < self.args.networks:
            batch = []
            while len(batch) < min(self.args.batch, self.args.networks - part["rtl_simulated"]):
                seed = self.args.seed * 10 ** 7 + index
                index += 1
                ch = RandomChooser(seed)
                try:
                    graph, arrays = random_model(ch)
                except Exception as error:      # noqa: BLE001 - the generator's own bug
                    self.count("networks", "generator-error", {"seed": seed,
                                                               "error": repr(error)})
                    continue
                part["generated"] += 1
                target = ch.choice([None, 32, 64, 256, 1024])
                try:
                    with time_limit(120):
                        result = check_golden(graph, arrays, images=4, seed=seed,
                                              target_cycles=target)
                except Exception as error:      # noqa: BLE001 - a hang, classified
                    result = {"outcome": classify_error(error), "stage": "?",
                              "error": repr(error)}
                part["golden_checked"] += 1
                if result["outcome"] != "ok":
                    self.count("networks", result["outcome"], _example(graph, {
                        "seed": seed, "target_cycles": target, "stage": result.get("stage"),
                        "error": result.get("error"), "where": result.get("where"),
                        "trace": result.get("trace", "")[-1500:]}))
                    continue
                batch.append((seed, graph, arrays, target, result))
            self.simulate(batch, work, simulate_batch)
            self.save()
            self.log(f"networks: {part['rtl_simulated']}/{self.args.networks} through RTL "
                     f"({part['rtl_batches']} builds): {dict(part['outcomes'])}")
        self.data["seconds"]["networks"] = round(time.monotonic() - started, 1)
        self.save()

    def simulate(self, batch, work, simulate_batch):
        part = self.data["networks"]
        if not batch:
            return
        folder = work / f"batch{part['rtl_batches']}"
        entries = [(r["network"], r["images"]) for _, _, _, _, r in batch]
        try:
            with time_limit(1800):
                runs = simulate_batch(entries, folder, cxx_opt="-O0")
        except Exception as error:              # noqa: BLE001 - split and retry, then record
            if len(batch) > 1:
                self.log(f"batch of {len(batch)} failed ({type(error).__name__}); splitting")
                half = len(batch) // 2
                self.simulate(batch[:half], work, simulate_batch)
                self.simulate(batch[half:], work, simulate_batch)
                return
            seed, graph, _, target, _ = batch[0]
            self.count("networks", "hang" if classify_error(error) == "hang" else
                       f"traceback:rtl:{type(error).__name__}", _example(graph, {
                           "seed": seed, "target_cycles": target, "stage": "rtl",
                           "error": f"{type(error).__name__}: {str(error)[-1500:]}"}))
            part["rtl_batches"] += 1
            return
        part["rtl_batches"] += 1
        for (seed, graph, arrays, target, result), network_runs in zip(batch, runs):
            part["rtl_simulated"] += 1
            network = result["network"]
            part["cycles_per_inference_max"] = max(part["cycles_per_inference_max"],
                                                   network.cycles_per_inference)
            for feature in features(graph, arrays):
                part["features"][feature] = part["features"].get(feature, 0) + 1
            problems = check_rtl(network, result["compiled"], result["images"], network_runs)
            if not problems:
                self.count("networks", "ok")
                continue
            outcome = "hang" if any("hang" in p for p in problems) else "disagree:rtl"
            self.count("networks", outcome, _example(graph, {
                "seed": seed, "target_cycles": target, "stage": "rtl", "problems": problems}))


def markdown(data):
    t = data["totals"]
    lines = [
        "# Model fuzzer campaign (`benchmarks/fuzz.py`)", "",
        "Commands: " + "; ".join(f"{phase}: `{command}`" for phase, command in sorted(
            data.get("phase_commands", {"all": data["command"]}).items())) + ".", "",
        *(f"Note: {note}" + "\n" for note in data.get("notes", [])),
        f"Time: {data['seconds'].get('total', 0):.0f} s "
        f"(mutations {data['seconds'].get('mutations', 0):.0f} s, golden only "
        f"{data['seconds'].get('golden_only', 0):.0f} s, networks "
        f"{data['seconds'].get('networks', 0):.0f} s).", "",
        "| what | count |", "| --- | ---: |",
        f"| random networks through RTL (Verilator; full rate + 30 % random stalls) | "
        f"{t['networks_through_rtl']} |",
        f"| Verilator builds (several networks per build) | "
        f"{data['networks']['rtl_batches']} |",
        f"| random valid models checked float reference == golden (and generated) | "
        f"{t['valid_models_golden_checked']} |",
        f"| mutated model files through load / compile / generate | {t['mutated_files']} |",
        f"| **disagreements** (reference vs golden, golden vs RTL) | **{t['disagreements']}** |",
        f"| **tracebacks** (an exception that is not one named error) | **{t['tracebacks']}** |",
        f"| **hangs** | **{t['hangs']}** |",
        f"| valid models rejected with a named error | {t['valid_models_rejected']} |", "",
        "## Outcomes", "",
        "Random networks: " + ", ".join(f"{k}: {v}" for k, v in
                                        sorted(data["networks"]["outcomes"].items())) + ".", "",
        "More valid models, reference == golden and generation only (half of them with "
        "grouped int8 / PA-Net convolutions the streaming generator does not build): "
        + ", ".join(f"{k}: {v}" for k, v in sorted(data["golden_only"]["outcomes"].items()))
        + ".", "",
        "Mutated files: " + ", ".join(f"{k}: {v}" for k, v in
                                      sorted(data["mutations"]["outcomes"].items())) + ".", "",
        "| mutation operator | ok (still valid, reference == golden) | named error | other |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in sorted(data["mutations"]["by_operator"].items()):
        other = sum(v for k, v in row.items() if k not in ("ok", "named"))
        lines.append(f"| {name} | {row.get('ok', 0)} | {row.get('named', 0)} | {other} |")
    for section in ("networks", "golden_only", "mutations"):
        for outcome, examples in sorted(data[section]["examples"].items()):
            lines += ["", f"### {section}: {outcome} ({data[section]['outcomes'][outcome]})", ""]
            for example in examples[:2]:
                shown = {k: v for k, v in example.items() if k not in ("graph", "trace")}
                lines += ["```", json.dumps(shown, indent=1, default=str)[:1500],
                          example.get("graph", "")[:1500], "```"]
    feats = data["networks"]["features"]
    lines += ["", "## Ops and attribute values in the networks simulated", "",
              f"Each should occur at least {MIN_COUNT} times"
              + (f"; below that: {', '.join(data['rare_features'])}." if data["rare_features"]
                 else ": all do."), "",
              "| op / attribute value | networks |", "| --- | ---: |"]
    lines += [f"| `{k}` | {v} |" for k, v in sorted(feats.items())]
    lines += ["", "## Bugs the fuzzer found", "", "In `bnnhw/hw` (fixed, each with a regression "
              "test):", ""]
    for row in data.get("hw_findings", []):
        lines.append(f"- {row['what']} — `{row['where']}`; test `{row['test']}`.")
    lines += ["", "Outside `bnnhw/hw` (minimal repros in `tests/fuzz/known_bugs.py`; "
              "`test_fuzzer_finding_is_fixed_or_excluded` keeps the fixed ones fixed):", "",
              "| bug | where | status when the campaign ran |", "| --- | --- | --- |"]
    for key, row in sorted(data.get("known_bugs", {}).items()):
        status = ("OPEN, pattern excluded" if row["excluded"] else "OPEN, NOT excluded") \
            if row["still_fails"] else ("fixed (pattern still excluded: re-enable it): "
                                        if row["excluded"] else "fixed: ") + \
            row["outcome_now"][:90]
        lines.append(f"| `{key}`: {row['what']} | `{row['where']}` | {status} |")
    for key, row in sorted(data.get("known_bugs", {}).items()):
        if row["still_fails"]:
            lines += ["", f"Repro of `{key}` (fails with {row['outcome_now'][:300]}):", "",
                      "```json", row["repro"], "```"]
    lines += ["", "## Patterns excluded from generation (open bugs in files outside the fuzzer's "
              "scope; re-enable each when fixed)", ""]
    for where, table in data["excluded_patterns"].items():
        for key, why in table.items():
            lines.append(f"- {where} `{key}`: {why}")
    if not any(data["excluded_patterns"].values()):
        lines.append("- none")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=300)
    parser.add_argument("--mutations", type=int, default=2000)
    parser.add_argument("--golden-only", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--only", default="mutations,golden,networks",
                        help="phases to run (comma-separated: mutations, golden, networks)")
    parser.add_argument("--update", action="store_true",
                        help="keep the other phases' results from the existing fuzz.json")
    args = parser.parse_args(argv)
    args.only = {phase.strip() for phase in args.only.split(",") if phase.strip()}
    unknown = args.only - {"mutations", "golden", "networks"}
    if unknown:
        parser.error(f"--only: unknown phase(s) {', '.join(sorted(unknown))}")
    warnings.simplefilter("ignore")             # UnusedElaboratable of failed builds
    campaign = Campaign(args)
    try:
        campaign.probe_known_bugs()
        if "mutations" in args.only:
            campaign.run_mutations()
        if "golden" in args.only:
            campaign.run_golden_only()
        if "networks" in args.only:
            campaign.run_networks()
    except KeyboardInterrupt:
        campaign.log("interrupted; saving what ran")
    except Exception:                           # noqa: BLE001 - the campaign's own bug
        traceback.print_exc()
        campaign.save()
        return 1
    campaign.save()
    t = campaign.data["totals"]
    campaign.log(f"done: {t}")
    return 0 if t["disagreements"] == t["tracebacks"] == t["hangs"] == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
