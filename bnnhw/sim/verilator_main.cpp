// bnnhw's simulator main for cocotb + Verilator: the clock is driven here, in C++.
//
// cocotb's own Verilator main leaves every clock edge to the testbench (a cocotb Clock: a timed
// VPI callback and a value write per half period). This main toggles the top-level input
// BNNHW_CLOCK itself every BNNHW_HALF_PERIOD time units (the simulation precision) from time
// 0, and between two points where cocotb has something to do it runs edges back to back: set
// the clock, evaluate, check the value-change callbacks, nothing else. Only when a callback
// fires (cocotb code ran and may have registered more), or a cocotb timer or NextTimeStep is due,
// does a time step go through every region as cocotb's main does (eval until settled,
// ReadWrite, end of step, ReadOnly). cocotb code only runs inside callbacks, so a step in which
// none fired cannot have registered ReadWrite or ReadOnly work: skipping those regions there
// changes nothing cocotb can observe.
//
// Build defines: BNNHW_CLOCK (top-level port name, default clk), BNNHW_HALF_PERIOD (default
// 5000: 10 ns at the 1 ps precision bnnhw builds with). Command line as cocotb's main:
// --trace, --trace-file F, --coverage-per-instance. The clock runs until cocotb ends the
// regression (vpiFinish) or the model calls $finish: a testbench awaiting a value change must
// bound the wait with a Timer.
//
// Built with VL_USER_FINISH: $finish (and cocotb's vpiFinish at the end of a regression) ends the
// run without Verilator's "- :0: Verilog $finish" line on stdout, which told a user nothing.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "Vtop.h"
#include "verilated.h"
#include "verilated_vpi.h"

#if VM_TRACE
#include <verilated_vcd_c.h>
static VerilatedVcdC *trace_file = nullptr;
#endif

#ifndef BNNHW_CLOCK
#define BNNHW_CLOCK clk
#endif
#ifndef BNNHW_HALF_PERIOD
#define BNNHW_HALF_PERIOD 5000
#endif

static vluint64_t main_time = 0;
#if VM_COVERAGE
static bool coverage_per_instance = false;
#endif

double sc_time_stamp() { return static_cast<double>(main_time); }

#ifdef VL_USER_FINISH
void vl_finish(const char *, int, const char *) { Verilated::threadContextp()->gotFinish(true); }
#endif

extern "C" void vlog_startup_routines_bootstrap(void);

// Run value-change callbacks until none fires (they may write signals); true if any fired.
static bool settle_callbacks() {
    bool fired = VerilatedVpi::callValueCbs();
    bool again = fired;
    while (again) again = VerilatedVpi::callValueCbs();
    return fired;
}

static void dump_trace() {
#if VM_TRACE
    if (trace_file) trace_file->dump(main_time);
#endif
}

static void wrap_up() {
    static bool done = false;
    if (done) return;
    done = true;
    VerilatedVpi::callCbs(cbEndOfSimulation);
#if VM_TRACE
    if (trace_file) trace_file->close();
#endif
#if VM_COVERAGE
    if (coverage_per_instance) Verilated::threadContextp()->coveragep()->forcePerInstance(true);
    VerilatedCov::write();  // +verilator+coverage+file+<name>, default coverage.dat
#endif
}

// Every region of one time step, as cocotb's main runs it.
static void full_step(Vtop *top) {
    do {
        do {
            top->eval_step();
            VerilatedVpi::clearEvalNeeded();
            VerilatedVpi::doInertialPuts();
            settle_callbacks();
        } while (VerilatedVpi::evalNeeded());
        VerilatedVpi::callCbs(cbReadWriteSynch);
        VerilatedVpi::doInertialPuts();
        settle_callbacks();
    } while (VerilatedVpi::evalNeeded());
    top->eval_end_step();
    VerilatedVpi::callCbs(cbReadOnlySynch);
    dump_trace();
}

int main(int argc, char **argv) {
    const char *trace_name = "dump.vcd";
    bool trace_on = false;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--trace")) {
            trace_on = true;
        } else if (!std::strcmp(argv[i], "--trace-file") && i + 1 < argc) {
            trace_name = argv[++i];
        } else if (!std::strcmp(argv[i], "--coverage-per-instance")) {
#if VM_COVERAGE
            coverage_per_instance = true;
#endif
        }
    }
#if !VM_TRACE
    if (trace_on) {
        std::fprintf(stderr, "bnnhw sim: --trace needs a model built with tracing\n");
        return 1;
    }
#endif
    Verilated::commandArgs(argc, argv);
    std::unique_ptr<Vtop> top(new Vtop(""));
    Verilated::fatalOnVpiError(false);
#if VM_TRACE
    Verilated::traceEverOn(true);
    if (trace_on) {
        trace_file = new VerilatedVcdC;
        top->trace(trace_file, 99);
        trace_file->open(trace_name);
    }
#endif
    vlog_startup_routines_bootstrap();
    Verilated::addExitCb([](void *) { wrap_up(); }, nullptr);
    VerilatedVpi::callCbs(cbStartOfSimulation);
    settle_callbacks();

    const vluint64_t never = ~static_cast<vluint64_t>(0);
    const vluint64_t half = BNNHW_HALF_PERIOD;
    vluint64_t next_edge = half;
    top->BNNHW_CLOCK = 0;
    full_step(top.get());
    while (!Verilated::gotFinish()) {
        const vluint64_t cocotb_due = VerilatedVpi::cbNextDeadline();
        const vluint64_t model_due = top->eventsPending() ? top->nextTimeSlot() : never;
        // The clock never stops: the run ends when cocotb (or the model) calls $finish.
        const vluint64_t due = std::min({cocotb_due, model_due, next_edge});
        main_time = due;
        bool woke = VerilatedVpi::callCbs(cbNextSimTime);
        if (due == next_edge) {
            top->BNNHW_CLOCK = !top->BNNHW_CLOCK;
            next_edge += half;
        }
        if (due == cocotb_due) {
            VerilatedVpi::callTimedCbs();
            woke = true;
        }
        if (!woke && due != model_due) {
            // A bare clock edge: evaluate; the full regions only if a callback fired.
            top->eval_step();
            if (!settle_callbacks() && !VerilatedVpi::evalNeeded()) {
                top->eval_end_step();
                dump_trace();
                continue;
            }
        } else {
            settle_callbacks();
        }
        full_step(top.get());
    }
    top->final();
    wrap_up();
#if VM_TRACE
    delete trace_file;
    trace_file = nullptr;
#endif
    return Verilated::threadContextp()->errorCount() > 0 ? 1 : 0;
}
