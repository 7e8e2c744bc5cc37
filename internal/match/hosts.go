package match

import (
	"errors"
	"strings"

	"github.com/lanedye/lanedye/internal/httpsyntax"
)

// Hosts is a compiled list of host patterns. The empty Hosts matches every host.
type Hosts struct {
	exact  []string // lower-case
	suffix []string // ".example.com" for "*.example.com"
	any    bool
}

// Key identifies equal pattern sets, so rules sharing hosts can share one
// check.
func (h *Hosts) Key() string {
	if h.any {
		return "*"
	}
	return strings.Join(h.exact, ",") + "|" + strings.Join(h.suffix, ",")
}

// Any reports whether h matches every host.
func (h *Hosts) Any() bool { return h.any }

// NewHosts compiles host patterns: "name", "*.suffix" or "*". A pattern with
// a port or a trailing dot could never match (requests are compared by
// :authority without either) and is an error.
func NewHosts(patterns []string) (Hosts, error) {
	var h Hosts
	if len(patterns) == 0 {
		h.any = true
	}
	for _, p := range patterns {
		p = strings.ToLower(p)
		if p == "*" {
			h.any = true
			continue
		}
		name, wildcard := strings.CutPrefix(p, "*.")
		if err := httpsyntax.CheckHost(name); err != nil {
			return Hosts{}, errors.New("host pattern " + httpsyntax.Quote(p) + ": " + err.Error())
		}
		if wildcard {
			h.suffix = append(h.suffix, p[1:])
		} else {
			h.exact = append(h.exact, p)
		}
	}
	return h, nil
}

// Match reports whether host (port stripped) matches. lower says the host has
// no upper-case letter, which is the common case and allows plain compares.
func (h *Hosts) Match(host string, lower bool) bool {
	if h.any {
		return true
	}
	for _, e := range h.exact {
		if host == e || (!lower && strings.EqualFold(host, e)) {
			return true
		}
	}
	for _, s := range h.suffix {
		if len(host) > len(s) {
			tail := host[len(host)-len(s):]
			if tail == s || (!lower && strings.EqualFold(tail, s)) {
				return true
			}
		}
	}
	return false
}
