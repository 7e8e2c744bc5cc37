package match

import (
	"errors"
	"fmt"
	"strings"
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
		if err := CheckHost(name); err != nil {
			return Hosts{}, fmt.Errorf("host pattern %q: %w", p, err)
		}
		if wildcard {
			h.suffix = append(h.suffix, p[1:])
		} else {
			h.exact = append(h.exact, p)
		}
	}
	return h, nil
}

// CheckHost reports what is wrong with a host name as configuration (host
// patterns, fallback service keys): it must be a DNS name or an IPv6
// literal in brackets, without a port or a trailing dot.
func CheckHost(s string) error {
	switch {
	case s == "" || len(s) > 253:
		return errors.New("not a host name")
	case strings.HasSuffix(s, "."):
		return errors.New("a trailing dot never matches: :authority is compared without it")
	case strings.HasPrefix(s, "["):
		if !strings.HasSuffix(s, "]") {
			return errors.New("a port never matches: :authority is compared without it")
		}
		if strings.Trim(s[1:len(s)-1], "0123456789abcdef:.") != "" {
			return errors.New("not an IPv6 literal")
		}
		return nil
	case strings.Contains(s, ":"):
		return errors.New("a port never matches: :authority is compared without it")
	case strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-._") != "":
		return errors.New("not a host name (wildcards only as a leading \"*.\")")
	}
	return nil
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
