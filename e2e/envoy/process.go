package envoy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Options describe one Envoy process.
type Options struct {
	Name      string // names its files under Dir: NAME.yaml, NAME.log
	Dir       string
	Bootstrap []byte // YAML; its admin address should use port 0 (see Start)
	// Concurrency is the number of worker threads, each with its own Wasm
	// VM. Default 2: inbound and outbound of one request may then land on
	// different VMs, as in a loaded sidecar.
	Concurrency int
	LogLevel    string // default "warn"
	Args        []string
	// Wrap is a command Envoy runs under (valgrind and its flags), or none.
	Wrap []string
	// Module is the Wasm module the bootstrap loads ("" none): V8
	// compiles it before the listeners are ready, so it sizes Ready.
	Module string
	// Ready bounds the wait for the admin endpoint to answer ready once
	// this Envoy's start slot is granted. Default: ReadyDeadline of the
	// module's size and the machine's load.
	Ready time.Duration
}

// startSlots bounds how many Envoys of this process start at once. V8
// compiles a module on Envoy's main thread, a CPU-bound job: more Envoys
// compiling than there are cores only slow each of them down, past any
// deadline on a loaded machine. It is package state because every test of
// a binary starts Envoys on the same cores.
var startSlots = make(chan struct{}, max(1, runtime.NumCPU()))

// A conservative compile cost of a module in Envoy's V8, CPU seconds per
// MB on an idle core (make bench's footprint section measures the real
// one), and the margin over it a deadline allows.
const (
	compileSecondsPerMB = 2.0
	compileMargin       = 10
	readyBase           = time.Minute
)

// ReadyDeadline is how long an Envoy loading a module of n bytes may take
// to become ready: a minute for Envoy itself plus ten times the module's
// compile time, scaled by the machine's load (load average per core, at
// least 1). A start queued behind other starts does not spend it.
func ReadyDeadline(n int64) time.Duration {
	compile := time.Duration(float64(n) / 1e6 * compileSecondsPerMB * float64(time.Second))
	return time.Duration(float64(readyBase+compileMargin*compile) * loadFactor())
}

// loadFactor is the one-minute load average per core, at least 1; 1 where
// it cannot be read.
func loadFactor() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 1
	}
	load, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 1
	}
	return max(1, load/float64(runtime.NumCPU()))
}

// Process is a running Envoy.
type Process struct {
	Name  string
	Admin string // admin base URL, "http://127.0.0.1:PORT"
	Log   string // path of its log file

	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's result, once done is closed
}

// Start writes the bootstrap under o.Dir, starts Envoy and waits until its
// admin endpoint reports LIVE. Envoy writes the admin address it bound to a
// file (--admin-address-path), so bootstraps can ask for port 0.
func Start(bin string, o Options) (*Process, error) {
	if o.Concurrency == 0 {
		o.Concurrency = 2
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	startSlots <- struct{}{}
	defer func() { <-startSlots }()
	if o.Ready == 0 {
		var n int64
		if o.Module != "" {
			st, err := os.Stat(o.Module)
			if err != nil {
				return nil, fmt.Errorf("envoy %s: the module is required (make build): %w", o.Name, err)
			}
			n = st.Size()
		}
		o.Ready = ReadyDeadline(n)
	}
	cfg := filepath.Join(o.Dir, o.Name+".yaml")
	if err := os.WriteFile(cfg, o.Bootstrap, 0o600); err != nil {
		return nil, err
	}
	addrFile := filepath.Join(o.Dir, o.Name+".admin")
	_ = os.Remove(addrFile)
	p := &Process{Name: o.Name, Log: filepath.Join(o.Dir, o.Name+".log"), done: make(chan struct{})}
	logf, err := os.Create(p.Log)
	if err != nil {
		return nil, err
	}
	args := append([]string{"-c", cfg, "--use-dynamic-base-id", "--concurrency", strconv.Itoa(o.Concurrency),
		"--log-level", o.LogLevel, "--admin-address-path", addrFile}, o.Args...)
	if len(o.Wrap) > 0 {
		args = append(append(o.Wrap[1:len(o.Wrap):len(o.Wrap)], bin), args...)
		bin = o.Wrap[0]
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	if err := p.waitReady(addrFile, o.Ready); err != nil {
		p.Stop()
		return nil, fmt.Errorf("envoy %s: %w\n%s", o.Name, err, p.LogTail(40))
	}
	return p, nil
}

func (p *Process) waitReady(addrFile string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.done:
			return fmt.Errorf("exited: %w", p.err)
		default:
		}
		if p.Admin == "" {
			b, err := os.ReadFile(addrFile)
			if err != nil || len(b) == 0 {
				continue
			}
			p.Admin = "http://" + strings.TrimSpace(string(b))
		}
		resp, err := client.Get(p.Admin + "/ready")
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	return fmt.Errorf("not ready after %v", limit)
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop terminates Envoy and waits for it.
func (p *Process) Stop() {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// LogText returns the whole log.
func (p *Process) LogText() string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

// LogTail returns the last n lines of the log.
func (p *Process) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.LogText(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Get fetches an admin path ("/stats?format=json").
func (p *Process) Get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Admin+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New(p.Name + " admin " + path + ": " + resp.Status)
	}
	return b, err
}
