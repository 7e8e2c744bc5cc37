// Command lanedye is the operator's tool for the lanedye plugin: it checks
// configurations with the plugin's own parser, explains the lane a request
// would get, renders the Istio routing a configuration needs, prints the
// configuration's JSON Schema, and builds and pushes the plugin's OCI image.
//
//	lanedye validate FILE|DIR|-...
//	lanedye explain -f FILE [-H 'name: value']... [--cookie 'name=value']... [--json]
//	lanedye render -f FILE | lanedye render fallback < deployments.yaml
//	lanedye schema
//	lanedye image build|push
//
// Exit status: 0 success, 1 invalid input or a failed check, 2 usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// failedError is invalid input or a failed check: exit status 1. A nil err
// means the command already reported what failed.
type failedError struct{ err error }

func (e *failedError) Error() string {
	if e.err == nil {
		return "failed"
	}
	return e.err.Error()
}

func (e *failedError) Unwrap() error { return e.err }

// failed marks err (nil: already reported) as exit status 1.
func failed(err error) error { return &failedError{err} }

// usageError is a command used wrongly: exit status 2, like cobra's own
// flag and argument errors.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// run runs the command line args and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	if f := (*failedError)(nil); errors.As(err, &f) {
		if f.err != nil {
			fmt.Fprintln(stderr, "lanedye:", f.err)
		}
		return 1
	}
	fmt.Fprintf(stderr, "lanedye: %v\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
	return 2
}

// newRoot builds the command tree. Commands keep their flags in closures:
// no state outlives one run.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "lanedye",
		Short: "Check, explain and deploy lanedye traffic-lane configurations",
		Long: `lanedye checks lanedye plugin configurations with the plugin's own parser,
explains which lane a request would get and why, renders the Istio
DestinationRules and VirtualServices a configuration needs, prints the
configuration's JSON Schema, and builds and pushes the plugin's OCI image.

Configuration files are JSON or YAML: a bare pluginConfig, or Istio
WasmPlugin manifests (several documents per file, kubectl List output,
kustomize output; - reads stdin).

Exit status: 0 success, 1 invalid input or a failed check, 2 usage error.`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("a command is required")
		},
	}
	root.AddCommand(newValidate(), newExplain(), newRender(), newSchema(), newImage())
	return root
}

// version is the module version go install recorded, or "(devel)".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
