package gatewayconf

import (
	"math"
	"strings"

	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/gjson"
	"github.com/lanedye/lanedye/internal/match"
)

// blocks compiles a list of match blocks. salt is the default percentage
// salt (the rule's name).
func (p *parser) blocks(v gjson.Result, path, salt string) (match.Blocks, error) {
	items, err := bind.Array(v, path)
	if err != nil {
		return nil, err
	}
	out := make(match.Blocks, len(items))
	for i, it := range items {
		if err := p.block(&out[i], it, bind.Index(path, i), salt); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// blocksInto binds a list of match blocks.
func (p *parser) blocksInto(dst *match.Blocks, salt string) bind.Binder {
	return func(v gjson.Result, path string) (err error) {
		*dst, err = p.blocks(v, path, salt)
		return err
	}
}

func (p *parser) block(b *match.Block, v gjson.Result, path, salt string) error {
	var headers, cookies, query gjson.Result
	err := bind.Object(v, path,
		bind.Opt("headers", bind.Raw(&headers)),
		bind.Opt("cookies", bind.Raw(&cookies)),
		bind.Opt("query", bind.Raw(&query)),
		bind.Opt("path", stringMatch(&b.Path)),
		bind.Opt("method", stringMatch(&b.Method)),
		bind.Opt("source_ip", p.sourceIPs(&b.Sources)),
		bind.Opt("percentage", p.percentage(&b.Pct, salt)),
	)
	if err != nil {
		return err
	}
	for _, kind := range []struct {
		v      gjson.Result
		key    string
		prefix string // ParseSource's kind
	}{{headers, "headers", "header:"}, {cookies, "cookies", "cookie:"}, {query, "query", "query:"}} {
		if !kind.v.Exists() {
			continue
		}
		if err := p.conds(b, kind.v, bind.Join(path, kind.key), kind.prefix); err != nil {
			return err
		}
	}
	return nil
}

// conds compiles the name -> matcher map of headers, cookies or query.
func (p *parser) conds(b *match.Block, v gjson.Result, path, prefix string) error {
	names, vals, err := bind.Entries(v, path)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for j, name := range names {
		np := bind.Join(path, name)
		src, err := match.ParseSource(prefix+name, p.c.Index)
		if err != nil {
			return bind.Err(np, err.Error())
		}
		if seen[src.Name] {
			return bind.Err(np, "duplicate name (header names are case-insensitive)")
		}
		if err := p.readable(src, np); err != nil {
			return err
		}
		seen[src.Name] = true
		var m *match.String
		if err := stringMatch(&m)(vals[j], np); err != nil {
			return err
		}
		b.Conds = append(b.Conds, match.Cond{Src: src, M: *m})
	}
	return nil
}

// operators are the string matcher operators, in the order they are checked.
var operators = []string{"exact", "prefix", "suffix", "contains", "regex", "present"}

var valueOps = map[string]match.Op{"exact": match.OpExact, "prefix": match.OpPrefix, "suffix": match.OpSuffix, "contains": match.OpContains}

// stringMatch binds a string matcher: exactly one operator, and the invert
// and ignore_case options.
func stringMatch(dst **match.String) bind.Binder {
	return func(v gjson.Result, path string) error {
		var invert, fold bool
		ops := map[string]gjson.Result{}
		fields := make([]bind.Field, 0, len(operators)+2)
		for _, o := range operators {
			fields = append(fields, bind.Opt(o, func(v gjson.Result, _ string) error { ops[o] = v; return nil }))
		}
		foldSet := false
		fields = append(fields, bind.Opt("invert", bind.Bool(&invert)),
			bind.Opt("ignore_case", func(v gjson.Result, path string) error { foldSet = true; return bind.Bool(&fold)(v, path) }))
		if err := bind.Object(v, path, fields...); err != nil {
			return err
		}
		var op string
		for _, o := range operators {
			if _, ok := ops[o]; !ok {
				continue
			}
			if op != "" {
				return bind.Err(bind.Join(path, o), "only one operator per matcher (already have "+op+")")
			}
			op = o
		}
		if op == "" {
			return bind.Err(path, "needs one operator: "+strings.Join(operators, ", "))
		}
		if op == "present" && foldSet {
			return bind.Err(bind.Join(path, "ignore_case"), "has no effect with present")
		}
		m, err := compileString(op, ops[op], bind.Join(path, op), invert, fold)
		if err != nil {
			return err
		}
		*dst = &m
		return nil
	}
}

func compileString(op string, v gjson.Result, path string, invert, fold bool) (match.String, error) {
	switch op {
	case "present":
		var b bool
		if err := bind.Bool(&b)(v, path); err != nil {
			return match.String{}, err
		}
		return match.NewPresentMatch(b, invert), nil
	case "regex":
		var s string
		if err := bind.Str(&s)(v, path); err != nil {
			return match.String{}, err
		}
		m, err := match.NewRegexMatch(s, invert, fold)
		if err != nil {
			return match.String{}, bind.Err(path, err.Error())
		}
		return m, nil
	}
	vals, err := bind.StringOrList(v, path)
	if err != nil {
		return match.String{}, err
	}
	return match.NewValueMatch(valueOps[op], vals, invert, fold), nil
}

// percentage binds a percentage condition.
func (p *parser) percentage(dst **match.Percentage, salt string) bind.Binder {
	return func(v gjson.Result, path string) error {
		pct := &match.Percentage{Salt: salt}
		var value, key gjson.Result
		err := bind.Object(v, path,
			bind.Req("value", "0 to 100", bind.Raw(&value)),
			bind.Req("key", `the sources hashed, e.g. ["header:x-user-id", "cookie:uid"]`, bind.Raw(&key)),
			bind.Opt("salt", bind.Str(&pct.Salt)),
		)
		if err != nil {
			return err
		}
		vp := bind.Join(path, "value")
		if value.Type != gjson.Number || value.Num < 0 || value.Num > 100 {
			return bind.Err(vp, "must be a number from 0 to 100")
		}
		th := math.Round(value.Num * 100)
		if math.Abs(th-value.Num*100) > 1e-6 {
			return bind.Err(vp, "at most two decimals (buckets are 0.01%)")
		}
		pct.Threshold = uint64(th)
		kp := bind.Join(path, "key")
		keys, err := bind.StringOrList(key, kp)
		if err != nil {
			return err
		}
		for i, k := range keys {
			ip := kp
			if key.IsArray() {
				ip = bind.Index(kp, i)
			}
			src, err := match.ParseSource(k, p.c.Index)
			if err != nil {
				return bind.Err(ip, err.Error())
			}
			if err := p.readable(src, ip); err != nil {
				return err
			}
			pct.Keys = append(pct.Keys, src)
		}
		*dst = pct
		return nil
	}
}

// sourceIPs binds source_ip: addresses and CIDR blocks, IPv4 or IPv6.
func (p *parser) sourceIPs(dst *match.SourceIPs) bind.Binder {
	return func(v gjson.Result, path string) error {
		var entries []string
		if err := bind.StringList(&entries)(v, path); err != nil {
			return err
		}
		if len(entries) == 0 {
			return bind.Err(path, "must not be empty (omit source_ip to match every address)")
		}
		for i, e := range entries {
			pfx, err := match.ParsePrefix(e)
			if err != nil {
				return bind.Err(bind.Index(path, i), err.Error())
			}
			*dst = append(*dst, pfx)
		}
		return nil
	}
}
