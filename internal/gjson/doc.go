// This directory is github.com/tidwall/gjson at the version go.mod pins,
// with one patch (upstream.patch): the stock modifiers ("@pretty", "@ugly",
// "@reverse", ...) are not registered. Upstream registers them in an init
// function, so every program that imports gjson links them, and through
// "@pretty" also github.com/tidwall/pretty, encoding/json and much of
// reflect, whether or not it ever evaluates a path with a modifier. lanedye
// never does: it walks its configuration with Parse, ForEach and Array.
// In every module Envoy loads, those bytes were memory in every Envoy.
//
// TestUpstreamPlusPatch holds gjson.go to exactly the pinned upstream file
// with upstream.patch applied; to move to a new upstream version, bump
// go.mod, copy the new gjson.go here, apply the patch again and
// regenerate upstream.patch. The license is upstream's (LICENSE).

package gjson
