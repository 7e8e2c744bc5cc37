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
	// Ready bounds the wait for the admin endpoint to answer LIVE; the
	// module is compiled before that. Default 2 minutes.
	Ready time.Duration
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
	if o.Ready == 0 {
		o.Ready = 2 * time.Minute
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
