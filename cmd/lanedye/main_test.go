package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository root, seen from this package.
const root = "../.."

// repo returns a path in the repository.
func repo(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

// lanedye runs the command line with stdin and returns stdout, stderr and
// the exit status.
func lanedye(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// Exit status: 0 success, 1 invalid input or a failed check, 2 usage.
func TestExitStatus(t *testing.T) {
	gw := repo("deploy/plugins/wasmplugin-gateway.yaml")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"no command", "", nil, 2},
		{"unknown command", "", []string{"frob"}, 2},
		{"unknown flag", "", []string{"validate", "--frob", gw}, 2},
		{"validate without files", "", []string{"validate"}, 2},
		{"stdin twice", "", []string{"validate", "-", "-"}, 2},
		{"valid", "", []string{"validate", gw}, 0},
		{"invalid configuration", `{"role":"gateway","lanes":["a/b"]}`, []string{"validate", "-"}, 1},
		{"a missing file", "", []string{"validate", repo("nope.yaml")}, 1},
		{"explain without -f", "", []string{"explain"}, 2},
		{"explain with a bad header", "", []string{"explain", "-f", gw, "-H", "nocolon"}, 2},
		{"explain with a bad direction", "", []string{"explain", "-f", gw, "--direction", "up"}, 2},
		{"explain a gateway with a direction", "", []string{"explain", "-f", gw, "--direction", "inbound"}, 2},
		{"explain an invalid configuration", `{"role":"gateway","lanes":["a/b"]}`, []string{"explain", "-f", "-"}, 1},
		{"explain", "", []string{"explain", "-f", gw}, 0},
		{"render without -f", "", []string{"render"}, 2},
		{"render a configuration without fallback", "", []string{"render", "-f", gw}, 1},
		{"render fallback of nothing", "kind: Service\n", []string{"render", "fallback"}, 1},
		{"schema", "", []string{"schema"}, 0},
		{"schema with an argument", "", []string{"schema", "x"}, 2},
		{"image without a command", "", []string{"image"}, 2},
		{"image push without an image", "", []string{"image", "push"}, 2},
		{"image build of a missing module", "", []string{"image", "build", "--wasm", repo("nope.wasm")}, 1},
		{"help", "", []string{"--help"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := lanedye(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			if tc.code == 1 && strings.Count(strings.TrimSpace(errs+out), "\n") != 0 {
				t.Errorf("a failure takes one line:\n%s%s", out, errs)
			}
		})
	}
}

// Every command has help with an example, and so does docs/cli.md's
// promise that --help works everywhere.
func TestHelp(t *testing.T) {
	for _, cmd := range [][]string{{"validate"}, {"explain"}, {"render"}, {"render", "fallback"}, {"schema"}, {"image", "build"}, {"image", "push"}} {
		t.Run(strings.Join(cmd, " "), func(t *testing.T) {
			out, _, code := lanedye(t, "", append(cmd, "--help")...)
			_, examples, _ := strings.Cut(out, "Examples:\n")
			if code != 0 || !strings.Contains(examples, "lanedye "+strings.Join(cmd, " ")) {
				t.Errorf("exit %d, no example:\n%s", code, out)
			}
		})
	}
}

// The command needs no file of the repository at run time: it runs from
// an empty directory (schema is embedded; explain reads only its -f).
func TestRunsOutsideTheRepository(t *testing.T) {
	gw, err := os.ReadFile(repo("deploy/plugins/wasmplugin-gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if out, _, code := lanedye(t, "", "schema"); code != 0 || !strings.Contains(out, `"$schema": "https://json-schema.org/draft/2020-12/schema"`) {
		t.Errorf("schema: exit %d\n%s", code, out)
	}
	if out, errs, code := lanedye(t, string(gw), "explain", "-f", "-", "--host", "myapp.example.com", "-H", "x-user-id: 12340", "--json"); code != 0 || !strings.Contains(out, `"rule": "user-tail-012"`) {
		t.Errorf("explain: exit %d\n%s%s", code, out, errs)
	}
}

// A key in sticky.secret_env is read from this process's environment when
// it is there; without it explain still answers, with a stand-in key, and
// says so. validate never needs it.
func TestSecretEnv(t *testing.T) {
	const cfg = `{"role":"gateway","lanes":["gray"],"rules":[{"name":"r","lane":"gray"}],"sticky":{"cookie":"c","secret_env":"LANEDYE_TEST_STICKY_KEY"}}`
	for _, tc := range []struct {
		name, env string
		args      []string
		want      string
	}{
		{"validate without the variable", "", []string{"validate", "-"}, "<stdin>: ok: gateway"},
		{"explain without the variable", "", []string{"explain", "-f", "-"}, "note:        sticky.secret_env: the VM environment has no LANEDYE_TEST_STICKY_KEY"},
		{"explain with the variable", "0123456789abcdef0123", []string{"explain", "-f", "-"}, "set-cookie:  c=gray."},
		{"explain with a short key", "short", []string{"explain", "-f", "-"}, "note:        sticky.secret_env: key 1 of LANEDYE_TEST_STICKY_KEY must be at least 16 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LANEDYE_TEST_STICKY_KEY", tc.env)
			if tc.env == "" {
				os.Unsetenv("LANEDYE_TEST_STICKY_KEY")
			}
			out, errs, code := lanedye(t, cfg, tc.args...)
			if code != 0 || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %q in\n%s%s", code, tc.want, out, errs)
			}
		})
	}
}
