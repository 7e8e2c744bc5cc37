package envoy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// CustomPrefix is what Envoy puts before the names of counters a Wasm module
// defines: lanedye.errors is exposed as wasmcustom.lanedye.errors.
const CustomPrefix = "wasmcustom."

// Counters returns the counters and gauges whose names start with prefix,
// as the admin endpoint reports them, keyed by full name.
func (p *Process) Counters(ctx context.Context, prefix string) (map[string]uint64, error) {
	m, err := p.Matching(ctx, "^"+regexp.QuoteMeta(prefix))
	for k := range m {
		if !strings.HasPrefix(k, prefix) {
			delete(m, k)
		}
	}
	return m, err
}

// Matching returns the counters and gauges whose names match the regular
// expression re (the admin endpoint's filter, RE2), keyed by full name.
func (p *Process) Matching(ctx context.Context, re string) (map[string]uint64, error) {
	b, err := p.Get(ctx, "/stats?format=json&filter="+url.QueryEscape(re))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Stats []struct {
			Name  string  `json:"name"`
			Value *uint64 `json:"value"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s /stats: %w", p.Name, err)
	}
	out := map[string]uint64{}
	for _, s := range doc.Stats {
		if s.Value != nil {
			out[s.Name] = *s.Value
		}
	}
	return out, nil
}

// Lanedye returns lanedye's counters with the wasmcustom. prefix removed, so
// the names are docs/contract.md#counters (lanedye.lane.gray.requests).
func (p *Process) Lanedye(ctx context.Context) (map[string]uint64, error) {
	m, err := p.Counters(ctx, CustomPrefix+"lanedye.")
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[strings.TrimPrefix(k, CustomPrefix)] = v
	}
	return out, nil
}

// RSS returns the resident set size of the process in bytes.
func (p *Process) RSS() (int64, error) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid())); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, err := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024, err
			}
		}
	}
	out, err := exec.Command("ps", "-o", "rss=", "-p", strconv.Itoa(p.Pid())).Output()
	if err != nil {
		return 0, err
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	return kb * 1024, err
}

// CPU returns the CPU time (user + system) the process has used so far, in
// nanoseconds where the kernel reports them per thread (Linux schedstat),
// else in clock ticks of /proc/PID/stat.
func (p *Process) CPU() (time.Duration, error) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", p.Pid()))
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that just ended
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		sum += ns
	}
	if len(tasks) > 0 {
		return time.Duration(sum), nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		return 0, fmt.Errorf("CPU time needs Linux /proc: %w", err)
	}
	// The command name may contain spaces; fields count from after ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", p.Pid())
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on every Linux architecture Envoy ships for
	return time.Duration(ut+st) * time.Second / ticksPerSecond, nil
}
