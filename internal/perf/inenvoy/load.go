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

// Request returns the headers of request i of the mix every setup serves:
// a browser's request (about 16 headers, cookies); every other one carries a
// user id ending in 0, 1 or 2, which the seed's gray rules dye; every fifth
// one also carries the sticky cookie cookie (name=value, "" none).
func Request(i int, cookie string) http.Header {
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
	cookies := "session-id=" + strconv.Itoa(100000+i) + "; theme=dark; _ga=GA1.2.1234567890.1700000000"
	if i%5 == 4 && cookie != "" {
		cookies += "; " + cookie
	}
	h.Set("cookie", cookies)
	uid := 10000 + 10*(i/2) + 3 + i%7 // ends in 3..9: no tail rule
	if i%2 == 0 {
		uid = 10000 + 10*(i/2) + (i/2)%3 // ends in 0, 1 or 2: the tail rule dyes it
	}
	h.Set("x-user-id", strconv.Itoa(uid))
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
func Drive(ctx context.Context, url string, first, n, conns int, cookie string) Result {
	var next, errs atomic.Int64
	next.Store(int64(first))
	end := int64(first + n)
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}}
			defer c.CloseIdleConnections()
			for {
				i := next.Add(1) - 1
				if i >= end || ctx.Err() != nil {
					return
				}
				if err := send(ctx, c, url, int(i), cookie); err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return Result{Requests: n, Errors: int(errs.Load()), Elapsed: time.Since(start)}
}

func send(ctx context.Context, c *http.Client, url string, i int, cookie string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/orders?page=2&sort=desc", nil)
	if err != nil {
		return err
	}
	req.Host = Host
	req.Header = Request(i, cookie)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
