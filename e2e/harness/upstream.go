package harness

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxRecorded is how many of the most recent requests an Upstream keeps;
// Count covers them all, so a load run does not grow the test's memory.
const MaxRecorded = 1000

// MaxEchoSleep caps Echo's sleep parameter.
const MaxEchoSleep = 5 * time.Second

// Upstream is a Go HTTP server on 127.0.0.1 standing in for an application
// behind Envoy. It speaks HTTP/1.1 and HTTP/2 without TLS (prior knowledge),
// so a Cluster reaches it with or without HTTP2, and it records every request
// before its handler runs.
type Upstream struct {
	// URL is "http://127.0.0.1:<port>" and Addr "127.0.0.1:<port>".
	URL  string
	Addr string

	t     TB
	srv   *httptest.Server
	count atomic.Int64
	mu    sync.Mutex
	log   []Request
}

// Request is what reached an upstream.
type Request struct {
	Method string
	// Path is the request target: path and query.
	Path   string
	Proto  string
	Header http.Header
	Body   []byte
}

// NewUpstream serves handler (Echo when nil) until the test ends.
func NewUpstream(t TB, handler http.Handler) *Upstream {
	t.Helper()
	if handler == nil {
		handler = Echo()
	}
	u := &Upstream{t: t}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.record(r)
		handler.ServeHTTP(w, r)
	}))
	u.srv.Config.Protocols = new(http.Protocols)
	u.srv.Config.Protocols.SetHTTP1(true)
	u.srv.Config.Protocols.SetUnencryptedHTTP2(true)
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	u.URL = u.srv.URL
	u.Addr = u.srv.Listener.Addr().String()
	return u
}

func (u *Upstream) record(r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		u.t.Errorf("upstream: reading the body of %s %s: %v", r.Method, r.RequestURI, err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	req := Request{Method: r.Method, Path: r.RequestURI, Proto: r.Proto, Header: r.Header.Clone(), Body: body}
	u.count.Add(1)
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.log) >= 2*MaxRecorded {
		u.log = append(u.log[:0], u.log[len(u.log)-MaxRecorded+1:]...)
	}
	u.log = append(u.log, req)
}

// Cluster is a Cluster named name that sends Envoy's requests here over
// HTTP/1.1.
func (u *Upstream) Cluster(name string) Cluster {
	return Cluster{Name: name, Address: u.Addr}
}

// Count is the number of requests that reached the upstream.
func (u *Upstream) Count() int { return int(u.count.Load()) }

// Requests returns the recorded requests, oldest first, at most MaxRecorded.
func (u *Upstream) Requests() []Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	start := max(0, len(u.log)-MaxRecorded)
	return append([]Request(nil), u.log[start:]...)
}

// Last returns the most recent request, failing the test when none came.
func (u *Upstream) Last() Request {
	u.t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.log) == 0 {
		u.t.Fatal("no request reached the upstream")
	}
	return u.log[len(u.log)-1]
}

// Echo answers with the request's body. Query parameters shape the answer:
// status=<code> sets the status (default 200), sleep=<duration> waits first
// (at most MaxEchoSleep, less if the request is cancelled), and headers=1
// reflects each request header as x-echo-<name>.
func Echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		status := http.StatusOK
		if s := q.Get("status"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 100 || n > 999 {
				http.Error(w, "bad status parameter", http.StatusBadRequest)
				return
			}
			status = n
		}
		if s := q.Get("sleep"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				http.Error(w, "bad sleep parameter", http.StatusBadRequest)
				return
			}
			timer := time.NewTimer(min(d, MaxEchoSleep))
			select {
			case <-timer.C:
			case <-r.Context().Done():
				timer.Stop()
				return
			}
		}
		if q.Get("headers") == "1" {
			for name, values := range r.Header {
				for _, v := range values {
					w.Header().Add("x-echo-"+strings.ToLower(name), v)
				}
			}
		}
		body, _ := io.ReadAll(r.Body)
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}
