// This directory is github.com/tidwall/gjson at the version go.mod pins,
// with two patches (upstream.patch):
//
//   - The stock modifiers ("@pretty", "@ugly", "@reverse", ...) are not
//     registered. Upstream registers them in an init function, so every
//     program that imports gjson links them, and through "@pretty" also
//     github.com/tidwall/pretty, encoding/json and much of reflect, whether
//     or not it ever evaluates a path with a modifier. lanedye never does:
//     it walks its configuration with Parse, ForEach and Array.
//   - A number token's value comes from parseNumberToken and a \u escape's
//     from hex4 (number.go), not from strconv's ParseFloat and ParseUint,
//     which link strconv's float parsing, its tables and its error
//     formatting. parseNumberToken is ParseFloat bit for bit when the
//     digits, leading and trailing zeros aside, are an integer below 2^53
//     and the exponent moves them by at most 22 places (every integer
//     below 2^53, the two-decimal percentages a configuration holds), and
//     within a few float64 values of it elsewhere. Converting a
//     string (Result.Float, path queries) still uses strconv.
//
// In every module Envoy loads, those bytes were memory in every Envoy.
//
// TestUpstreamPlusPatch holds gjson.go to exactly the pinned upstream file
// with upstream.patch applied; to move to a new upstream version, bump
// go.mod, copy the new gjson.go here, apply the patch again and
// regenerate upstream.patch. The license is upstream's (LICENSE).

package gjson
