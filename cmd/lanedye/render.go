package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/tidwall/gjson"
	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/internal/cli/input"
	"github.com/lanedye/lanedye/internal/cli/render"
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
)

func newRender() *cobra.Command {
	var file string
	var o render.Options
	var ports []string
	cmd := &cobra.Command{
		Use:   "render -f FILE",
		Short: "Write the DestinationRules and VirtualServices a configuration needs (and EnvoyFilters for health fallback)",
		Long: `render writes, for every service of the configuration's fallback.services, an
Istio DestinationRule with one subset per lane (pods selected by the label
--label, value the lane) and a VirtualService that routes on the route header
(fallback.route_header), one match per lane other than the default, the
default lane's subset last. YAML on stdout, ready for kubectl apply.

A service key "name" lives in --namespace (default: the WasmPlugin's
namespace, else "default"); "name.ns" and "name.ns.svc.<domain>" name their
namespace. The configuration is validated first.

--health-fallback also writes, per service deployed in a lane other than the
default, an EnvoyFilter: for each such lane an aggregate cluster
(envoy.clusters.aggregate) listing the lane's subset cluster, then those of
the lanes of its fallback chain the service is deployed in (fallback.parents,
the default lane last), and a patch pointing the lane's route (named
lanedye.<lane>.<service>.<namespace>) at it. While the lane has healthy
endpoints it takes the traffic; as they fail readiness or are removed, Envoy
sends it down the chain. Cluster names carry the service port (--port N for
all, --port SERVICE=N for one; default 80). An EnvoyFilter reaches the proxies
of its namespace: by default each service's, which covers callers in that
namespace only; --envoyfilter-namespace istio-system (Istio's root
namespace) reaches every proxy, gateways included.

render fallback does the reverse: it reads Deployments and prints the
fallback.services table they imply.`,
		Example: `  lanedye render -f deploy/plugins/wasmplugin-sidecar.yaml
  lanedye render -f sidecar.json --namespace shop --label lane | kubectl apply -f -
  lanedye render -f deploy/plugins/wasmplugin-sidecar.yaml --health-fallback --port 8000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("required flag \"file\" not set")
			}
			all, per, err := render.ParsePorts(ports)
			if err != nil {
				return usagef("%v", err)
			}
			if len(ports) > 0 && !o.HealthFallback {
				return usagef("--port names the clusters of --health-fallback; give both")
			}
			if o.FilterNamespace != "" && !o.HealthFallback {
				return usagef("--envoyfilter-namespace places the EnvoyFilters of --health-fallback; give both")
			}
			o.Port, o.Ports = all, per
			return runRender(cmd, file, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&file, "file", "f", "", "the configuration (JSON or YAML, a pluginConfig or WasmPlugin manifests; - for stdin)")
	fl.StringVar(&o.Namespace, "namespace", "", "the namespace of services named without one (default: the WasmPlugin's, else default)")
	fl.StringVar(&o.Domain, "domain", render.DefaultDomain, "the cluster domain")
	fl.StringVar(&o.Label, "label", render.DefaultLabel, "the pod label whose value is the lane")
	fl.BoolVar(&o.HealthFallback, "health-fallback", false, "also write EnvoyFilters whose aggregate clusters move a lane's traffic down its fallback chain while its endpoints are unhealthy")
	fl.StringArrayVar(&ports, "port", nil, "with --health-fallback: the services' port (N), or one service's (SERVICE=N); default 80")
	fl.StringVar(&o.FilterNamespace, "envoyfilter-namespace", "", "with --health-fallback: the namespace of the EnvoyFilters (default: each service's)")
	cmd.AddCommand(newRenderFallback())
	return cmd
}

func runRender(cmd *cobra.Command, file string, o render.Options) error {
	found := input.Load(file, cmd.InOrStdin())
	if len(found.Problems) > 0 {
		return failed(errors.New(found.Problems[0].Error()))
	}
	var picked []input.Config
	for _, c := range found.Configs {
		if gjson.GetBytes(c.JSON, "fallback.services").Exists() {
			picked = append(picked, c)
		}
	}
	if len(picked) != 1 {
		return failed(fmt.Errorf("%s: %d configurations with fallback.services: render needs exactly one", file, len(picked)))
	}
	c := picked[0]
	if _, err := anyrole.Parse(c.JSON, config.WithEnv(nil)); err != nil {
		return failed(errors.New(configError(c.Source, err)))
	}
	if o.Namespace == "" {
		o.Namespace = c.Namespace
	}
	out, err := render.Render(c.JSON, o)
	if err != nil {
		return failed(fmt.Errorf("%s: %w", c.Source, err))
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "# Rendered by lanedye render from %s.\n", c.Source)
	_, err = w.Write(out)
	return err
}

func newRenderFallback() *cobra.Command {
	var file string
	var o render.FallbackOptions
	cmd := &cobra.Command{
		Use:   "fallback [DEPLOYMENTS...]",
		Short: "Print the fallback.services table the deployed Deployments imply",
		Long: `render fallback reads Deployments (YAML or JSON, kubectl List output; stdin
when no file is given) and prints fallback.services: for every service (the
--service-label of the pod template) the lanes (the --lane-label) it has
pods in, the default lane left out because it always counts. Deployments
scaled to 0 do not count. A service name found in several namespaces gets
keys qualified by namespace. With -f, lanes must be configured there and the
default lane is the configuration's. Notes on skipped Deployments go to
stderr.`,
		Example: `  kubectl get deploy -n lanedye-demo -o yaml | lanedye render fallback
  lanedye render fallback -f deploy/plugins/wasmplugin-sidecar.yaml deploy/example/*.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRenderFallback(cmd, args, file, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&file, "file", "f", "", "a configuration whose lanes and default lane to use")
	fl.StringVar(&o.LaneLabel, "lane-label", render.DefaultLabel, "the pod label whose value is the lane")
	fl.StringVar(&o.ServiceLabel, "service-label", render.DefaultServiceLabel, "the pod label whose value is the service")
	fl.StringVar(&o.DefaultLane, "default-lane", "base", "the default lane (without -f)")
	fl.StringVar(&o.Domain, "domain", render.DefaultDomain, "the cluster domain, for keys qualified by namespace")
	return cmd
}

func runRenderFallback(cmd *cobra.Command, args []string, file string, o render.FallbackOptions) error {
	if err := stdinOnce(append(args, file)); err != nil {
		return err
	}
	if file != "" {
		if err := lanesOf(cmd, file, &o); err != nil {
			return err
		}
	}
	if len(args) == 0 {
		args = []string{"-"}
	}
	var objs []input.Object
	for _, a := range args {
		data, p := input.ReadFile(a, cmd.InOrStdin())
		if p != nil {
			return failed(p)
		}
		name := a
		if a == "-" {
			name = input.Stdin
		}
		found, problems := input.Objects(name, data)
		if len(problems) > 0 {
			return failed(&problems[0])
		}
		objs = append(objs, found...)
	}
	services, notes := render.Fallback(objs, o)
	for _, n := range notes {
		fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
	}
	if len(services) == 0 {
		return failed(errors.New("no Deployment with both labels " + o.ServiceLabel + " and " + o.LaneLabel))
	}
	out, err := yaml.Marshal(map[string]any{"services": services})
	if err != nil {
		return failed(err)
	}
	w := cmd.OutOrStdout()
	n := 0
	for _, obj := range objs {
		if obj.Value.Get("kind").String() == "Deployment" {
			n++
		}
	}
	fmt.Fprintf(w, "# fallback.services from %d Deployments (service label %s, lane label %s)\n", n, o.ServiceLabel, o.LaneLabel)
	_, err = w.Write(out)
	return err
}

// lanesOf takes the lanes and default lane of the configuration in file.
func lanesOf(cmd *cobra.Command, file string, o *render.FallbackOptions) error {
	found := input.Load(file, cmd.InOrStdin())
	if len(found.Problems) > 0 {
		return failed(errors.New(found.Problems[0].Error()))
	}
	if len(found.Configs) != 1 {
		return failed(fmt.Errorf("%s: %d configurations: -f needs exactly one", file, len(found.Configs)))
	}
	c := found.Configs[0]
	cfg, err := anyrole.Parse(c.JSON, config.WithEnv(nil))
	if err != nil {
		return failed(errors.New(configError(c.Source, err)))
	}
	names := cfg.Lanes.Names()
	o.DefaultLane, o.Lanes = names[0], append([]string{}, names[1:]...)
	return nil
}
