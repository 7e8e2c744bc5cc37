package config

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/httpsyntax"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/sticky"
)

// Sticky defaults.
const (
	DefaultMaxAge = 86400
	maxMaxAge     = 400 * 86400 // browsers cap Max-Age at 400 days
)

// parseSticky compiles the sticky section.
func (p *parser) parseSticky() error {
	if !p.sticky.Exists() {
		return nil
	}
	o := sticky.Options{MaxAge: DefaultMaxAge, Path: "/", HTTPOnly: true, SameSite: "Lax"}
	lanesSet := false
	err := object(p.sticky, "sticky",
		req("cookie", "the cookie name", cookieName(&o.Cookie)),
		opt("max_age", integer(&o.MaxAge, 1, maxMaxAge)),
		opt("path", attribute(&o.Path)),
		opt("domain", attribute(&o.Domain)),
		opt("secure", boolean(&o.Secure)),
		opt("http_only", boolean(&o.HTTPOnly)),
		opt("same_site", sameSite(&o.SameSite, &o.Secure)),
		opt("secret", secrets(&o.Keys)),
		opt("secret_env", p.secretEnv(&o.Keys)),
		opt("lanes", func(v gjson.Result, path string) error { lanesSet = true; return p.laneList(&o.Lanes)(v, path) }),
	)
	if err != nil {
		return err
	}

	if !lanesSet {
		for l := 1; l < p.cfg.Lanes.Len(); l++ {
			o.Lanes = append(o.Lanes, lane.ID(l))
		}
	}
	p.gw.Sticky = sticky.New(o, p.cfg.Lanes)
	p.gw.StickyCookie = p.cfg.Index.AddCookie(o.Cookie)
	return nil
}

func cookieName(dst *string) binder {
	return func(v gjson.Result, path string) error {
		if err := str(dst)(v, path); err != nil {
			return err
		}
		if !httpsyntax.ValidToken(*dst) {
			return errorf(path, "%q is not a valid cookie name", *dst)
		}
		return nil
	}
}

// attribute binds a Set-Cookie attribute value (Path, Domain).
func attribute(dst *string) binder {
	return func(v gjson.Result, path string) error {
		if err := str(dst)(v, path); err != nil {
			return err
		}
		if strings.ContainsAny(*dst, ";,\r\n\x00 ") {
			return errorf(path, "must not contain ';', ',', spaces or control characters")
		}
		return nil
	}
}

// sameSite binds the SameSite attribute; None needs secure, bound before it.
func sameSite(dst *string, secure *bool) binder {
	return func(v gjson.Result, path string) error {
		var s string
		if err := str(&s)(v, path); err != nil {
			return err
		}
		switch strings.ToLower(s) {
		case "strict":
			*dst = "Strict"
		case "lax":
			*dst = "Lax"
		case "none":
			if !*secure {
				return errorf(path, "None requires secure: true (browsers drop it otherwise)")
			}
			*dst = "None"
		default:
			return errorf(path, "must be \"Strict\", \"Lax\" or \"None\", got %q", s)
		}
		return nil
	}
}

// secrets binds sticky.secret: one key, or a list of keys (rotation: the
// first signs, any verifies).
func secrets(dst *[][]byte) binder {
	return func(v gjson.Result, path string) error {
		ks, err := stringOrList(v, path)
		if err != nil {
			return err
		}
		for i, k := range ks {
			kp := path
			if v.IsArray() {
				kp = index(path, i)
			}
			if len(k) < sticky.MinKey {
				return errorf(kp, "must be at least %d bytes, got %d", sticky.MinKey, len(k))
			}
			*dst = append(*dst, []byte(k))
		}
		return nil
	}
}

// secretEnv binds sticky.secret_env: the name of a VM environment variable
// holding one key or a comma-separated list of keys.
func (p *parser) secretEnv(dst *[][]byte) binder {
	return func(v gjson.Result, path string) error {
		var name string
		if err := str(&name)(v, path); err != nil {
			return err
		}
		if name == "" {
			return errorf(path, "must name an environment variable")
		}
		if p.sticky.Get("secret").Exists() {
			return errorf(path, "set either secret or secret_env, not both")
		}
		if p.env == nil {
			*dst = [][]byte{[]byte("key resolved where the plugin runs")} // offline check
			return nil
		}
		val, ok := p.env(name)
		switch {
		case !ok:
			return errorf(path, "the VM environment has no %s (Istio: WasmPlugin vmConfig.env with valueFrom: HOST)", name)
		case strings.TrimSpace(val) == "":
			return errorf(path, "%s is empty", name)
		}
		for i, k := range strings.Split(val, ",") {
			if k = strings.TrimSpace(k); len(k) < sticky.MinKey {
				return errorf(path, "key %d of %s must be at least %d bytes, got %d", i+1, name, sticky.MinKey, len(k))
			}
			*dst = append(*dst, []byte(k))
		}
		return nil
	}
}
