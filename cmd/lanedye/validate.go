package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lanedye/lanedye/internal/cli/check"
	"github.com/lanedye/lanedye/internal/cli/input"
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
)

func newValidate() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "validate FILE|DIR|- ...",
		Short: "Check configurations with the plugin's own parser",
		Long: `validate checks every lanedye configuration found in the files (JSON or
YAML, a bare pluginConfig or WasmPlugin manifests), in the *.yaml, *.yml and
*.json files under directories, and on stdin for -. Each error is one line,

  FILE[#DOC]: <json path>: <message>

with the message the plugin logs when Envoy rejects the configuration. With
several configurations it also checks them together: a sidecar reading a
baggage member or a lane header the gateway does not set (errors); lanes
sidecars use that no gateway produces, and gateway fallback services no
rule's hosts reach (warnings). Valid configurations get an "ok" line unless
--quiet. sticky.secret_env is checked for form only: the variable lives in
the proxy's environment, not here.`,
		Example: `  lanedye validate deploy/plugins/wasmplugin-gateway.yaml
  lanedye validate deploy/
  kustomize build deploy/example | lanedye validate -
  kubectl get wasmplugins -A -o yaml | lanedye validate -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := stdinOnce(args); err != nil {
				return err
			}
			var found []input.Found
			for _, a := range args {
				found = append(found, input.Load(a, cmd.InOrStdin()))
			}
			if !validate(cmd.OutOrStdout(), found, quiet) {
				return failed(nil)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only errors and warnings")
	return cmd
}

// validate writes one line per problem, error and warning (and, unless
// quiet, an "ok" line per configuration without errors) and reports whether
// there was no error.
func validate(w io.Writer, found []input.Found, quiet bool) bool {
	ok := true
	var valid []check.Input
	for _, f := range found {
		for _, p := range f.Problems {
			fmt.Fprintln(w, p.Error())
			ok = false
		}
		for _, c := range f.Configs {
			cfg, err := anyrole.Parse(c.JSON, config.WithEnv(nil))
			if err != nil {
				fmt.Fprintln(w, configError(c.Source, err))
				ok = false
				continue
			}
			valid = append(valid, check.Input{Source: c.Source, JSON: c.JSON, Config: cfg})
		}
	}
	inconsistent := map[string]bool{}
	for _, f := range check.Across(valid) {
		fmt.Fprintln(w, f.String())
		ok = ok && f.Warning
		inconsistent[f.Source] = inconsistent[f.Source] || !f.Warning
	}
	for _, v := range valid {
		if !quiet && !inconsistent[v.Source] {
			fmt.Fprintln(w, v.Source+": ok: "+summary(v.Config))
		}
	}
	return ok
}

// configError is a parser error as validate prints it.
func configError(source string, err error) string {
	var ce *config.Error
	if errors.As(err, &ce) {
		return source + ": " + ce.Path + ": " + ce.Msg
	}
	return source + ": $: " + err.Error()
}

// summary describes a valid configuration in a few words.
func summary(c *config.Config) string {
	s := c.Role.String() + ", lanes " + strings.Join(c.Lanes.Names(), ", ") + " (default first)"
	if c.Role == config.Gateway {
		n := len(gatewayconf.Of(c).Rules.Rules())
		s += ", " + strconv.Itoa(n) + " rule"
		if n != 1 {
			s += "s"
		}
	}
	if c.HasFallback() {
		s += ", fallback"
	}
	return s
}

// stdinOnce refuses "-" given twice: stdin can be read once.
func stdinOnce(args []string) error {
	n := 0
	for _, a := range args {
		if a == "-" {
			n++
		}
	}
	if n > 1 {
		return usagef("stdin (-) can be read once")
	}
	return nil
}
