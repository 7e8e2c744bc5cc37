package gatewayconf

import (
	"strings"

	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/gjson"
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
	err := bind.Object(p.sticky, "sticky",
		bind.Req("cookie", "the cookie name", cookieName(&o.Cookie)),
		bind.Opt("max_age", bind.Int(&o.MaxAge, 1, maxMaxAge)),
		bind.Opt("path", attribute(&o.Path)),
		bind.Opt("domain", attribute(&o.Domain)),
		bind.Opt("secure", bind.Bool(&o.Secure)),
		bind.Opt("http_only", bind.Bool(&o.HTTPOnly)),
		bind.Opt("same_site", sameSite(&o.SameSite, &o.Secure)),
		bind.Opt("secret", secrets(&o.Keys)),
		bind.Opt("secret_env", p.secretEnv(&o.Keys)),
		bind.Opt("lanes", func(v gjson.Result, path string) error { lanesSet = true; return p.c.LaneList(&o.Lanes)(v, path) }),
	)
	if err != nil {
		return err
	}

	if !lanesSet {
		for l := 1; l < p.c.Lanes.Len(); l++ {
			o.Lanes = append(o.Lanes, lane.ID(l))
		}
	}
	p.gw.Sticky = sticky.New(o, p.c.Lanes)
	p.gw.StickyCookie = p.c.Index.AddCookie(o.Cookie)
	return nil
}

func cookieName(dst *string) bind.Binder {
	return func(v gjson.Result, path string) error {
		if err := bind.Str(dst)(v, path); err != nil {
			return err
		}
		if !httpsyntax.ValidToken(*dst) {
			return bind.Err(path, bind.Q(*dst)+" is not a valid cookie name")
		}
		return nil
	}
}

// attribute binds a Set-Cookie attribute value (Path, Domain).
func attribute(dst *string) bind.Binder {
	return func(v gjson.Result, path string) error {
		if err := bind.Str(dst)(v, path); err != nil {
			return err
		}
		if strings.ContainsAny(*dst, ";,\r\n\x00 ") {
			return bind.Err(path, "must not contain ';', ',', spaces or control characters")
		}
		return nil
	}
}

// sameSite binds the SameSite attribute; None needs secure, bound before it.
func sameSite(dst *string, secure *bool) bind.Binder {
	return func(v gjson.Result, path string) error {
		var s string
		if err := bind.Str(&s)(v, path); err != nil {
			return err
		}
		switch strings.ToLower(s) {
		case "strict":
			*dst = "Strict"
		case "lax":
			*dst = "Lax"
		case "none":
			if !*secure {
				return bind.Err(path, "None requires secure: true (browsers drop it otherwise)")
			}
			*dst = "None"
		default:
			return bind.Err(path, "must be \"Strict\", \"Lax\" or \"None\", got "+bind.Q(s))
		}
		return nil
	}
}

// secrets binds sticky.secret: one key, or a list of keys (rotation: the
// first signs, any verifies).
func secrets(dst *[][]byte) bind.Binder {
	return func(v gjson.Result, path string) error {
		ks, err := bind.StringOrList(v, path)
		if err != nil {
			return err
		}
		for i, k := range ks {
			kp := path
			if v.IsArray() {
				kp = bind.Index(path, i)
			}
			if len(k) < sticky.MinKey {
				return bind.Err(kp, "must be at least "+bind.Itoa(sticky.MinKey)+" bytes, got "+bind.Itoa(len(k)))
			}
			*dst = append(*dst, []byte(k))
		}
		return nil
	}
}

// secretEnv binds sticky.secret_env: the name of a VM environment variable
// holding one key or a comma-separated list of keys. secret, bound before
// it, has filled dst when present.
func (p *parser) secretEnv(dst *[][]byte) bind.Binder {
	return func(v gjson.Result, path string) error {
		var name string
		if err := bind.Str(&name)(v, path); err != nil {
			return err
		}
		if name == "" {
			return bind.Err(path, "must name an environment variable")
		}
		if len(*dst) > 0 {
			return bind.Err(path, "set either secret or secret_env, not both")
		}
		if p.env == nil {
			*dst = [][]byte{[]byte("key resolved where the plugin runs")} // offline check
			return nil
		}
		val, ok := p.env(name)
		switch {
		case !ok:
			return bind.Err(path, "the VM environment has no "+name+" (Istio: WasmPlugin vmConfig.env with valueFrom: HOST)")
		case strings.TrimSpace(val) == "":
			return bind.Err(path, name+" is empty")
		}
		for i, k := range strings.Split(val, ",") {
			if k = strings.TrimSpace(k); len(k) < sticky.MinKey {
				return bind.Err(path, "key "+bind.Itoa(i+1)+" of "+name+" must be at least "+bind.Itoa(sticky.MinKey)+" bytes, got "+bind.Itoa(len(k)))
			}
			*dst = append(*dst, []byte(k))
		}
		return nil
	}
}
