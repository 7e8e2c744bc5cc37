package config

import (
	"strings"

	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/gjson"
)

// Role is the workload role a configuration is for.
type Role uint8

// Roles.
const (
	Gateway Role = iota + 1
	Sidecar
	Waypoint // an Istio ambient waypoint
)

var roleNames = [...]string{Gateway: "gateway", Sidecar: "sidecar", Waypoint: "waypoint"}

// roleHint is what "role" takes.
const roleHint = `"gateway", "sidecar" or "waypoint"`

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "unknown"
}

// Module is the file name of the module that carries the role: the
// sidecar module carries the waypoint role too.
func (r Role) Module() string {
	if r == Gateway {
		return "lanedye-gateway.wasm"
	}
	return "lanedye-sidecar.wasm"
}

// Sections are a role's own top-level sections, by key, as present in the
// configuration.
type Sections map[string]gjson.Result

// A RoleParser compiles the sections of one role after the common ones.
type RoleParser struct {
	Role Role
	// Compile compiles the role's sections into what its request path
	// uses (Config.Part). env reads the VM environment; nil when there is
	// none to read (see WithEnv).
	Compile func(c *Config, s Sections, env func(string) (string, bool)) (any, error)
}

// roleKeys are the top-level keys only some roles have, in the order
// "allowed:" lists them.
var roleKeys = []struct {
	key   string
	roles []Role
}{
	{"rules", []Role{Gateway}},
	{"trust", []Role{Gateway}},
	{"sticky", []Role{Gateway}},
	{"propagation", []Role{Sidecar, Waypoint}},
	{"workload", []Role{Sidecar}},
}

func (p *parser) bindRole(v gjson.Result, path string) error {
	var s string
	if err := bind.Str(&s)(v, path); err != nil {
		return err
	}
	role := Role(0)
	for r, name := range roleNames {
		if name != "" && name == s {
			role = Role(r)
		}
	}
	if role == 0 {
		return bind.Err(path, "must be "+roleHint+", got "+bind.Q(s))
	}
	p.cfg.Role = role
	for _, rp := range p.o.carried {
		if rp.Role == role {
			p.role = rp
			return nil
		}
	}
	return bind.Err(path, "role "+bind.Q(s)+" is carried by "+role.Module()+"; this module carries "+carried(p.o.carried))
}

func carried(ps []RoleParser) string {
	if len(ps) == 0 {
		return "no role"
	}
	names := make([]string, len(ps))
	for i, rp := range ps {
		names[i] = rp.Role.String()
	}
	return strings.Join(names, ", ")
}

// section keeps a role's own section for its parser, and refuses it in a
// configuration of another role. The role is bound first.
func (p *parser) section(key string, roles []Role) bind.Binder {
	return func(v gjson.Result, path string) error {
		for _, r := range roles {
			if r == p.cfg.Role {
				p.sections[key] = v
				return nil
			}
		}
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = bind.Q(r.String())
		}
		if len(names) == 1 {
			return bind.Err(path, "only valid for role "+names[0])
		}
		return bind.Err(path, "only valid for roles "+strings.Join(names, " and "))
	}
}
