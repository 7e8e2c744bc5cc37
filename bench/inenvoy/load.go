package inenvoy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Host is the host every request is for.
const Host = "myapp.example.com"

// Path is the path and query every request asks for.
const Path = "/api/orders?page=2&sort=desc"

// Mix is what varies between setups in the otherwise identical request mix.
type Mix struct {
	// Cookie is the sticky cookie ("name=value") every fifth request
	// carries; "" none.
	Cookie string
	// Lane, if set, is a lane header the client sends itself on every
	// request, "gray" on those PreDyed reports, else "base": setups without
	// a dyeing filter and the sidecar hop (whose gateway dyed upstream)
	// still route the same share of requests to each cluster.
	Lane string
}

// PreDyed reports whether request i of the mix is gray for the setups
// that receive the lane from the client: those the seed's tail rule
// matches, the sticky cookie's, and about 30 % of the rest, as the seed's
// percentage rule does (with its own hash, so a different 30 %).
func PreDyed(i int) bool {
	return i%10 < 3 || i%5 == 0 || mixBits(i)%100 < 30
}

// UserID is request i's x-user-id: nine digits ending in 0, 1 or 2 (which
// the seed's tail rule dyes) for three requests in ten, else in 3..9. The
// other digits are scrambled: the Lua script's percentage hash
// (h*31+byte mod 2^31-1) sends every id of five characters or fewer, and
// runs of consecutive ids, to one side.
func UserID(i int) string {
	tail := uint64(i % 10)
	return strconv.FormatUint((10_000_000+mixBits(i/10)%90_000_000)*10+tail, 10)
}

// mixBits is splitmix64's finaliser: well-spread bits from a counter.
func mixBits(i int) uint64 {
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// RequestID is request i's x-request-id, unique within a run of the
// process (run tells runs apart).
func RequestID(run uint32, i int) string {
	return fmt.Sprintf("%08x-1b2f-4c3d-8e9f-%012x", run, i)
}

// Request returns the headers of request i of the mix every setup serves:
// a browser's request (about 16 headers with Host, cookies and an
// x-request-id); three in ten match the seed's user-id tail rule and about
// 30 % of the others its percentage rule; every fifth one (half of them
// tail-rule users) also carries m.Cookie.
func Request(i int, run uint32, m Mix) http.Header {
	h := http.Header{}
	h.Set("user-agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	h.Set("accept", "application/json, text/plain, */*")
	h.Set("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")
	h.Set("accept-encoding", "gzip, deflate, br")
	h.Set("referer", "https://"+Host+"/orders")
	h.Set("x-forwarded-proto", "https")
	h.Set("sec-fetch-mode", "cors")
	h.Set("sec-fetch-site", "same-origin")
	h.Set("x-app-platform", "web")
	h.Set("x-app-version", "2.8.1")
	h.Set("x-user-region", "shanghai")
	h.Set("x-request-id", RequestID(run, i))
	cookies := "session-id=" + strconv.Itoa(100000+i) + "; theme=dark; _ga=GA1.2.1234567890.1700000000"
	if i%5 == 0 && m.Cookie != "" {
		cookies += "; " + m.Cookie
	}
	h.Set("cookie", cookies)
	h.Set("x-user-id", UserID(i))
	if m.Lane != "" {
		lane := "base"
		if PreDyed(i) {
			lane = "gray"
		}
		h.Set(m.Lane, lane)
	}
	return h
}

// Result is what a load run saw.
type Result struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
}

// Drive sends n requests of the mix over conns keep-alive connections, as
// fast as Envoy answers them.
func Drive(ctx context.Context, url string, first, n, conns int, m Mix) Result {
	var next, errs atomic.Int64
	next.Store(int64(first))
	end := int64(first + n)
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client()
			defer c.CloseIdleConnections()
			for {
				i := next.Add(1) - 1
				if i >= end || ctx.Err() != nil {
					return
				}
				if _, err := send(ctx, c, url, Request(int(i), 0, m)); err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return Result{Requests: n, Errors: int(errs.Load()), Elapsed: time.Since(start)}
}

// client keeps one connection, so a driver's connection count is its
// goroutine count.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}}
}

// send sends one request and returns the response headers once the body
// is read.
func send(ctx context.Context, c *http.Client, url string, h http.Header) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+Path, nil)
	if err != nil {
		return nil, err
	}
	req.Host = Host
	req.Header = h
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.Header, nil
}
