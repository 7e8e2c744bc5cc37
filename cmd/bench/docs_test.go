package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplaceBlocks(t *testing.T) {
	const page = "intro 1.0\n<!-- bench:a -->\nold 1\n<!-- /bench:a -->\nmiddle\n<!-- bench:b -->\n<!-- /bench:b -->\nend\n"
	for _, tc := range []struct {
		name   string
		page   string
		blocks map[string]string
		want   string // "" : an error
	}{
		{"both replaced, the rest kept", page, map[string]string{"a": "new 2\n", "b": "x"},
			"intro 1.0\n<!-- bench:a -->\nnew 2\n<!-- /bench:a -->\nmiddle\n<!-- bench:b -->\nx\n<!-- /bench:b -->\nend\n"},
		{"a block the page lacks", page, map[string]string{"c": "x"}, ""},
		{"an end before its begin", "<!-- /bench:a -->\n<!-- bench:a -->\n", map[string]string{"a": "x"}, ""},
		{"a block twice", page + page, map[string]string{"a": "x"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replaceBlocks(tc.page, tc.blocks)
			switch {
			case tc.want == "" && err == nil:
				t.Errorf("no error; got %q", got)
			case tc.want != "" && err != nil:
				t.Errorf("error %v", err)
			case got != tc.want:
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// The page carries a place for every block the report writes.
func TestPerformancePageHasEveryBlock(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", docsPage))
	if err != nil {
		t.Fatal(err)
	}
	out, err := replaceBlocks(string(page), renderBlocks(report{}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, notMeasured) {
		t.Error("an empty report left the page's figures in place")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 5171677: "5,171,677", -24221: "-24,221"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
