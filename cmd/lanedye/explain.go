package main

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/cli/explain"
	"github.com/lanedye/lanedye/internal/cli/input"
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
)

// explainFlags are explain's flags as given.
type explainFlags struct {
	file, now string
	headers   []string
	asJSON    bool
	q         explain.Request
}

func newExplain() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain -f FILE [flags]",
		Short: "Show the lane a request would get, and why",
		Long: `explain runs one request through the plugin's own decision code with the
configuration in FILE and prints the lane, its source (header, cookie, rule,
default; on a sidecar or waypoint also propagated, baggage, workload), the deciding rule, the route
lane of the fallback section, the Set-Cookie the gateway would add, what
became of a lane header or sticky cookie the client sent, and for every rule
evaluated before the deciding one the first condition that failed.

The request is GET https://localhost/ unless flags say otherwise. FILE may
hold several configurations (kustomize output): explain takes the gateway's,
or with --direction the sidecar's. A sticky.secret_env key is read from this
process's environment; without it cookies are signed with a stand-in key.

--json prints one object whose keys lane, source, rule, route and set_cookie
are strings, or null where there is none.`,
		Example: `  lanedye explain -f deploy/plugins/wasmplugin-gateway.yaml --host myapp.example.com -H 'x-user-id: 12340'
  lanedye explain -f deploy/plugins/wasmplugin-gateway.yaml --host myapp.example.com \
      -H 'x-gray-tag: internal-test' -H 'x-gray-token: wrong' --json
  lanedye explain -f deploy/plugins/wasmplugin-sidecar.yaml --direction outbound --host payment \
      -H 'my-request-id: r-1' --inbound-lane gray
  lanedye explain -f deploy/plugins/wasmplugin-sidecar.yaml --direction outbound --host checkout --workload-lane gray`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExplain(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "the configuration (JSON or YAML, a pluginConfig or WasmPlugin manifests; - for stdin)")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "a request header 'name: value' (repeatable)")
	fl.StringArrayVar(&f.q.Cookies, "cookie", nil, "a request cookie 'name=value' (repeatable; sent as one cookie header)")
	fl.StringVar(&f.q.Host, "host", "", "the :authority (default: a Host header given with -H, else localhost)")
	fl.StringVar(&f.q.Path, "path", "/", "the :path, query string included")
	fl.StringVar(&f.q.Method, "method", "GET", "the :method, as sent (case matters, as in the module)")
	fl.StringVar(&f.q.SourceIP, "source-ip", "", "the downstream address, for source_ip conditions")
	fl.StringVar(&f.q.Direction, "direction", "", "on a sidecar: inbound or outbound")
	fl.StringVar(&f.q.InboundLane, "inbound-lane", "", "on a sidecar's outbound call, or at a waypoint: the lane an earlier request with the same correlation ids stored")
	fl.StringVar(&f.q.WorkloadLane, "workload-lane", "", "on a sidecar's outbound call: the workload's own lane (its workload.lane_label's value)")
	fl.StringVar(&f.now, "now", "", "the time to decide at, RFC 3339 or Unix seconds (default: now)")
	fl.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func runExplain(cmd *cobra.Command, f *explainFlags) error {
	if err := f.parse(); err != nil {
		return err
	}
	c, err := pickConfig(cmd, f.file, f.q.Direction != "")
	if err != nil {
		return err
	}
	cfg, note, err := parseForExplain(c)
	if err != nil {
		return failed(errors.New(configError(c.Source, err)))
	}
	res, err := explain.Explain(cfg, c.Source, &f.q)
	if err != nil {
		return usagef("%v", err)
	}
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	if f.asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.WriteText(cmd.OutOrStdout(), &f.q)
}

// parse checks the request flags.
func (f *explainFlags) parse() error {
	for _, h := range f.headers {
		kv, err := explain.ParseHeader(h)
		if err != nil {
			return usagef("%v", err)
		}
		f.q.Headers = append(f.q.Headers, kv)
	}
	for _, c := range f.q.Cookies {
		if err := explain.ParseCookie(c); err != nil {
			return usagef("%v", err)
		}
	}
	switch f.q.Direction {
	case "", "inbound", "outbound":
	default:
		return usagef("--direction %q: want inbound or outbound", f.q.Direction)
	}
	if _, err := f.q.Source(); err != nil {
		return usagef("%v", err)
	}
	f.q.Now = time.Now()
	if f.now == "" {
		return nil
	}
	if s, err := strconv.ParseInt(f.now, 10, 64); err == nil {
		f.q.Now = time.Unix(s, 0)
		return nil
	}
	t, err := time.Parse(time.RFC3339, f.now)
	if err != nil {
		return usagef("--now %q: want RFC 3339 or Unix seconds", f.now)
	}
	f.q.Now = t
	return nil
}

// pickConfig returns the configuration of file to explain with: the only
// one, or the only gateway's (sidecar's, with a direction).
func pickConfig(cmd *cobra.Command, file string, sidecar bool) (input.Config, error) {
	found := input.Load(file, cmd.InOrStdin())
	if len(found.Problems) > 0 {
		return input.Config{}, failed(errors.New(found.Problems[0].Error()))
	}
	if len(found.Configs) == 1 {
		return found.Configs[0], nil
	}
	role := "gateway"
	if sidecar {
		role = "sidecar"
	}
	var picked []input.Config
	for _, c := range found.Configs {
		if gjson.GetBytes(c.JSON, "role").String() == role {
			picked = append(picked, c)
		}
	}
	if len(picked) != 1 {
		return input.Config{}, usagef("%s holds %d configurations, %d of them a %s's: explain needs exactly one (--direction picks the sidecar's)",
			file, len(found.Configs), len(picked), role)
	}
	return picked[0], nil
}

// parseForExplain parses c with this process's environment for
// sticky.secret_env, and without it when the variable is missing here.
func parseForExplain(c input.Config) (*config.Config, string, error) {
	cfg, err := anyrole.Parse(c.JSON)
	var ce *config.Error
	if err == nil || !errors.As(err, &ce) || ce.Path != "sticky.secret_env" {
		return cfg, "", err
	}
	cfg, err = anyrole.Parse(c.JSON, config.WithEnv(nil))
	return cfg, "sticky.secret_env: " + ce.Msg + " here: cookies are signed and checked with a stand-in key", err
}
