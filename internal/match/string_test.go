package match

import (
	"fmt"
	"testing"
)

func TestString(t *testing.T) {
	re, err := NewRegexMatch(`a|b`, false, false)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		m      String
		v      string
		ok     bool
		expect bool
	}{
		{NewValueMatch(OpExact, []string{"a", "b"}, false, false), "b", true, true},
		{NewValueMatch(OpExact, []string{"a"}, false, false), "A", true, false},
		{NewValueMatch(OpExact, []string{"a"}, false, true), "A", true, true},
		{NewValueMatch(OpExact, []string{"a"}, true, false), "b", true, true},
		{NewValueMatch(OpExact, []string{"a"}, true, false), "", false, false},
		{NewValueMatch(OpExact, []string{""}, false, false), "", true, true},
		{NewValueMatch(OpPrefix, []string{"/api"}, false, false), "/api/x", true, true},
		{NewValueMatch(OpPrefix, []string{"/API"}, false, true), "/api/x", true, true},
		{NewValueMatch(OpPrefix, []string{"/api/x/y"}, false, false), "/api", true, false},
		{NewValueMatch(OpSuffix, []string{"0", "1", "2"}, false, false), "12341", true, true},
		{NewValueMatch(OpSuffix, []string{".JPG"}, false, true), "a.jpg", true, true},
		{NewValueMatch(OpContains, []string{"bot"}, false, true), "GoogleBOT", true, true},
		{NewValueMatch(OpContains, []string{"bot"}, false, false), "GoogleBOT", true, false},
		{NewValueMatch(OpContains, []string{"x", "bot"}, true, false), "robot", true, false},
		{re, "a", true, true},
		{re, "ab", true, false}, // alternation must still match the whole value
		{NewPresentMatch(true, false), "", true, true},
		{NewPresentMatch(true, false), "", false, false},
		{NewPresentMatch(true, true), "", false, true},
		{NewPresentMatch(false, false), "", false, true},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d %q present=%v", i, c.v, c.ok), func(t *testing.T) {
			if got := c.m.Match(c.v, c.ok); got != c.expect {
				t.Errorf("%v, want %v", got, c.expect)
			}
		})
	}
}
