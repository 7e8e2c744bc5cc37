package match

import (
	"errors"
	"strings"

	"github.com/lanedye/lanedye/internal/httpsyntax"
	"github.com/lanedye/lanedye/internal/request"
)

// SourceKind says where a Source reads its value.
type SourceKind uint8

// Source kinds, as written before the colon in "header:NAME".
const (
	FromHeader SourceKind = iota
	FromCookie
	FromQuery
)

// Source is a compiled "header:NAME", "cookie:NAME" or "query:NAME" reference.
type Source struct {
	Kind   SourceKind
	Name   string // header names are lower-case
	header request.HeaderID
	cookie request.CookieID
}

// ParseSource compiles a "kind:name" reference, registering header names in x.
func ParseSource(spec string, x *request.Index) (Source, error) {
	kind, name, ok := strings.Cut(spec, ":")
	if !ok || name == "" {
		return Source{}, errors.New(`must be "header:NAME", "cookie:NAME" or "query:NAME", got ` + httpsyntax.Quote(spec))
	}
	switch kind {
	case "header":
		return HeaderSource(name, x)
	case "cookie":
		if !httpsyntax.ValidToken(name) {
			return Source{}, errors.New("invalid cookie name " + httpsyntax.Quote(name))
		}
		return Source{Kind: FromCookie, Name: name, cookie: x.AddCookie(name)}, nil
	case "query":
		return Source{Kind: FromQuery, Name: name}, nil
	}
	return Source{}, errors.New("unknown source " + httpsyntax.Quote(kind) + ": must be header, cookie or query")
}

// HeaderSource compiles a header reference; the name is lower-cased.
func HeaderSource(name string, x *request.Index) (Source, error) {
	n := strings.ToLower(name)
	if !httpsyntax.ValidHeaderName(n) {
		return Source{}, errors.New("invalid header name " + httpsyntax.Quote(name))
	}
	return Source{Kind: FromHeader, Name: n, header: x.AddHeader(n)}, nil
}

// Get reads the source's value from r.
func (s *Source) Get(r *request.Request) (string, bool) {
	switch s.Kind {
	case FromHeader:
		return r.Header(s.header)
	case FromCookie:
		return r.Cookie(s.cookie)
	default:
		return r.Query(s.Name)
	}
}
