package match

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/lanedye/lanedye/internal/request"
)

func TestBucketIsSpecFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		salt := strconv.Itoa(r.IntN(1000))
		v := fmt.Sprintf("user-%d", r.Int64())
		h := fnv.New64a()
		h.Write([]byte(salt + "\x00" + v))
		if got, want := Bucket(salt, v), h.Sum64()%10000; got != want {
			t.Fatalf("Bucket(%q, %q) = %d, want %d", salt, v, got, want)
		}
	}
}

func pctRequest(t *testing.T, value float64) (*Percentage, *request.Index) {
	t.Helper()
	x := request.NewIndex()
	src, err := ParseSource("header:x-user-id", x)
	if err != nil {
		t.Fatal(err)
	}
	return &Percentage{Threshold: uint64(value * 100), Keys: []Source{src}, Salt: "myapp-v2"}, x
}

func TestPercentageDistribution(t *testing.T) {
	for _, target := range []float64{1, 10, 30, 50, 99.5} {
		t.Run(fmt.Sprintf("%.1f%%", target), func(t *testing.T) {
			p, x := pctRequest(t, target)
			in := 0
			var r request.Request
			for i := range 10000 {
				r.Reset(x, [][2]string{{"x-user-id", strconv.Itoa(100000 + i)}})
				if p.Match(&r) {
					in++
				}
			}
			if got := float64(in) / 100; got < target-3 || got > target+3 {
				t.Errorf("%.2f%% of 10000 ids matched", got)
			}
		})
	}
}

// Raising the percentage never moves a user out: the set at 10 is a subset of
// the set at 30, which is a subset of the set at 100.
func TestPercentageMonotonic(t *testing.T) {
	steps := []float64{0, 0.01, 5, 10, 10.5, 30, 50, 99.99, 100}
	prev := map[string]bool{}
	for _, s := range steps {
		p, x := pctRequest(t, s)
		cur := map[string]bool{}
		var r request.Request
		for i := range 10000 {
			id := "u" + strconv.Itoa(i)
			r.Reset(x, [][2]string{{"x-user-id", id}})
			if p.Match(&r) {
				cur[id] = true
			} else if prev[id] {
				t.Fatalf("raising to %.2f%% moved %s out", s, id)
			}
		}
		if s == 0 && len(cur) != 0 || s == 100 && len(cur) != 10000 {
			t.Errorf("%.0f%%: %d of 10000 matched", s, len(cur))
		}
		prev = cur
	}
}

func TestPercentageKeyOrder(t *testing.T) {
	x := request.NewIndex()
	h, _ := ParseSource("header:x-user-id", x)
	c, _ := ParseSource("cookie:uid", x)
	p := &Percentage{Threshold: 5000, Keys: []Source{h, c}, Salt: "s"}
	for _, tc := range []struct {
		name      string
		headers   [][2]string
		threshold uint64
		want      bool
	}{
		{"cookie when the header is absent", [][2]string{{"cookie", "uid=abc"}}, 5000, Bucket("s", "abc") < 5000},
		{"header first", [][2]string{{"cookie", "uid=abc"}, {"x-user-id", "zzz"}}, 5000, Bucket("s", "zzz") < 5000},
		{"no key present, even at 100%", [][2]string{{"cookie", "other=1"}}, Buckets, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r request.Request
			r.Reset(x, tc.headers)
			p.Threshold = tc.threshold
			if got := p.Match(&r); got != tc.want {
				t.Errorf("match %v, want %v", got, tc.want)
			}
		})
	}
}
