package inenvoy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Instructions is the instructions section of build/bench.json: the
// machine instructions each setup's Envoy executes per request, counted by
// valgrind's callgrind. Unlike CPU time on a shared virtual machine, which
// moves by a quarter from run to run, the count repeats to a tenth of a
// percent, so it settles what a change to the module is worth.
type Instructions struct {
	Tool     string `json:"tool"`
	Requests int    `json:"requests_per_setup"`
	// PerRequest is every instruction Envoy executed while the setup's
	// requests were served, divided by their number (the sidecar hop: per
	// benchmark request, seen inbound and outbound).
	PerRequest map[string]float64 `json:"instructions_per_request"`
	Added      map[string]float64 `json:"added_instructions_per_request"`
	Ratios     Ratios             `json:"ratios"`
}

// callgrind runs Envoy with instrumentation off until CountInstructions
// switches it on around a setup's requests.
func callgrind(dir string) []string {
	return []string{"valgrind", "--tool=callgrind", "--instr-atstart=no",
		// V8 writes and then runs the module's machine code.
		"--smc-check=all-non-file",
		"--callgrind-out-file=" + filepath.Join(dir, "callgrind.%p")}
}

// CountInstructions runs the five setups of Setups(root) under callgrind,
// with the same cookies, warm-up and request mix as Compare, and counts the
// instructions of n requests per setup, paced slowly enough for Envoy
// under instrumentation.
func CountInstructions(ctx context.Context, bin, dir, root string, warmup, n int, logw io.Writer) (Instructions, error) {
	c := Instructions{Tool: "valgrind --tool=callgrind", Requests: n, PerRequest: map[string]float64{}, Added: map[string]float64{}}
	for _, tool := range []string{"valgrind", "callgrind_control"} {
		if _, err := exec.LookPath(tool); err != nil {
			return c, fmt.Errorf("%s is needed for the instructions section (Debian: apt-get install valgrind): %w", tool, err)
		}
	}
	gws, hop, err := Setups(root)
	if err != nil {
		return c, err
	}
	fmt.Fprintf(logw, "starting %d Envoys under callgrind (V8 compiles each module slowly there)…\n", len(gws)+1)
	ts, err := startTargets(Launch{Bin: bin, Concurrency: concurrency, Wrap: callgrind(dir)}, dir, gws, hop)
	if err != nil {
		return c, err
	}
	defer stopAll(ts)
	pace := Pace{Rate: 50, Conns: 2, Run: uint32(time.Now().UnixNano())}
	if err := stick(ctx, ts, pace.Run); err != nil {
		return c, err
	}
	for _, t := range ts {
		if _, err := Paced(ctx, t.url, 0, warmup, t.mix, pace); err != nil {
			return c, fmt.Errorf("%s: %w", t.name, err)
		}
		ir, err := t.instructions(ctx, dir, warmup, n, pace)
		if err != nil {
			return c, err
		}
		c.PerRequest[t.name] = float64(ir) / float64(n)
		fmt.Fprintf(logw, "%-20s %8.0f instructions per request\n", t.name, c.PerRequest[t.name])
	}
	for name, v := range c.PerRequest {
		c.Added[name] = v - c.PerRequest[None]
	}
	c.Ratios = Ratios{
		GatewayToLua:  ratio(c.Added[LanedyeGateway], c.Added[LuaSeed]),
		GatewayToNoop: ratio(c.Added[LanedyeGateway], c.Added[NoopWasm]),
		HopToGateway:  ratio(c.PerRequest[LanedyeSidecarHop], c.PerRequest[LanedyeGateway]),
	}
	return c, nil
}

// instructions counts what Envoy executes while serving requests
// first..first+n-1; the admin reads that check them lie outside.
func (t *target) instructions(ctx context.Context, dir string, first, n int, p Pace) (uint64, error) {
	before, err := t.counters(ctx)
	if err != nil {
		return 0, err
	}
	if err := t.callgrindControl("-i", "on"); err != nil {
		return 0, err
	}
	_, err = Paced(ctx, t.url, first, n, t.mix, p)
	if err2 := t.callgrindControl("-i", "off"); err == nil {
		err = err2
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", t.name, err)
	}
	if err := t.callgrindControl("-d"); err != nil {
		return 0, err
	}
	after, err := t.counters(ctx)
	if err != nil {
		return 0, err
	}
	if served := after[t.served] - before[t.served]; served != uint64(n) {
		return 0, fmt.Errorf("%s: sent %d requests, Envoy served %d", t.name, n, served)
	}
	return totals(filepath.Join(dir, fmt.Sprintf("callgrind.%d.1", t.proc.Pid())))
}

func (t *target) callgrindControl(args ...string) error {
	out, err := exec.Command("callgrind_control", append(args, strconv.Itoa(t.proc.Pid()))...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: callgrind_control %s: %w: %s", t.name, strings.Join(args, " "), err, out)
	}
	return nil
}

// totals reads the instruction count of a callgrind dump: its "totals:"
// line (the "summary:" of a dump taken while running can be 0).
func totals(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "totals: "); ok && len(strings.Fields(v)) > 0 {
			return strconv.ParseUint(strings.Fields(v)[0], 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New(path + ": no totals line")
}
