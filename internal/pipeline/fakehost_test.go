package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeHost is a proxy that records every effect the chain has on it.
type fakeHost struct {
	now      time.Time
	current  uint32 // the effective stream
	gone     map[uint32]bool
	headers  map[uint32][][2]string
	response map[uint32][][2]string // response headers
	body     map[uint32][]byte
	props    map[string]string
	tick     uint32
	tickErr  error
	sendErr  error
	replies  map[uint32][]int
	resumes  map[string]int // "<id> request" / "<id> response"
	callouts []*fakeCallout
	answer   *fakeCallout // the callout whose answer is being read
	removed  []string
	reads    map[string]int // request header and property reads, by name
}

type fakeCallout struct {
	stream  uint32
	cluster string
	done    func(numHeaders, bodySize, numTrailers int)
	headers [][2]string
	body    []byte
}

func newFakeHost() *fakeHost {
	return &fakeHost{
		now:     t0,
		gone:    map[uint32]bool{},
		headers: map[uint32][][2]string{},
		body:    map[uint32][]byte{},
		props:   map[string]string{},
		replies: map[uint32][]int{},
		resumes: map[string]int{},
		reads:   map[string]int{},
	}
}

func (h *fakeHost) RequestHeader(name string) (string, bool) {
	h.reads[name]++
	for _, kv := range h.headers[h.current] {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

func (h *fakeHost) RequestHeaders() [][2]string { return h.headers[h.current] }

func (h *fakeHost) SetRequestHeader(name, value string) error {
	_ = h.RemoveRequestHeader(name)
	h.headers[h.current] = append(h.headers[h.current], [2]string{name, value})
	return nil
}

func (h *fakeHost) RemoveRequestHeader(name string) error {
	h.removed = append(h.removed, name)
	var kept [][2]string
	for _, kv := range h.headers[h.current] {
		if kv[0] != name {
			kept = append(kept, kv)
		}
	}
	h.headers[h.current] = kept
	return nil
}

func (h *fakeHost) RequestBody(start, size int) ([]byte, error) {
	b := h.body[h.current]
	if start < 0 || start+size > len(b) {
		return nil, fmt.Errorf("body range [%d, %d) out of %d bytes", start, start+size, len(b))
	}
	return append([]byte(nil), b[start:start+size]...), nil
}

func (h *fakeHost) ResumeRequest() error {
	h.resumes[strconv.Itoa(int(h.current))+" request"]++
	return nil
}

func (h *fakeHost) ResponseHeader(name string) (string, bool) {
	for _, kv := range h.response[h.current] {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

func (h *fakeHost) ResponseHeaders() [][2]string {
	h.reads["response headers"]++
	return append([][2]string(nil), h.response[h.current]...)
}

func (h *fakeHost) SetResponseHeader(name, value string) error {
	h.response[h.current] = append(h.response[h.current], [2]string{name, value})
	return nil
}
func (h *fakeHost) RemoveResponseHeader(string) error     { return nil }
func (h *fakeHost) ResponseTrailer(string) (string, bool) { return "", false }

func (h *fakeHost) ResumeResponse() error {
	h.resumes[strconv.Itoa(int(h.current))+" response"]++
	return nil
}

func (h *fakeHost) SendResponse(status int, _ [][2]string, _ []byte, grpc int32) error {
	if h.sendErr != nil {
		return h.sendErr
	}
	if grpc >= 0 {
		status = 1000 + int(grpc) // tells a gRPC answer apart in assertions
	}
	h.replies[h.current] = append(h.replies[h.current], status)
	return nil
}

func (h *fakeHost) Property(path []string) ([]byte, bool) {
	h.reads[fmt.Sprint(path)]++
	v, ok := h.props[fmt.Sprint(path)]
	return []byte(v), ok
}

func (h *fakeHost) SetProperty([]string, []byte) error { return nil }

func (h *fakeHost) SetEffectiveContext(id uint32) error {
	if h.gone[id] {
		return errors.New("no such context")
	}
	h.current = id
	return nil
}

func (h *fakeHost) SetTickPeriod(ms uint32) error {
	if h.tickErr != nil {
		return h.tickErr
	}
	h.tick = ms
	return nil
}

func (h *fakeHost) DispatchHTTPCall(cluster string, _ [][2]string, _ []byte, _ time.Duration,
	done func(numHeaders, bodySize, numTrailers int)) error {
	if cluster == "" {
		return errors.New("no such cluster")
	}
	h.callouts = append(h.callouts, &fakeCallout{stream: h.current, cluster: cluster, done: done})
	return nil
}

func (h *fakeHost) CalloutResponseHeaders() [][2]string  { return h.answer.headers }
func (h *fakeHost) CalloutResponseBody(int) []byte       { return h.answer.body }
func (h *fakeHost) CalloutResponseTrailers() [][2]string { return nil }

// answerCallout completes callout i with status (0: failed), in the
// plugin's context as the proxy does.
func (h *fakeHost) answerCallout(i, status int) {
	c := h.callouts[i]
	h.current = 0
	if status == 0 {
		c.done(0, 0, 0)
		return
	}
	c.headers = [][2]string{{":status", strconv.Itoa(status)}}
	h.answer = c
	c.done(len(c.headers), len(c.body), 0)
	h.answer = nil
}

// testLog keeps what the chain logs.
type testLog struct{ lines []string }

func (l *testLog) add(level, format string, args ...any) {
	l.lines = append(l.lines, level+" "+fmt.Sprintf(format, args...))
}
func (l *testLog) Debugf(f string, a ...any)    { l.add("debug", f, a...) }
func (l *testLog) Infof(f string, a ...any)     { l.add("info", f, a...) }
func (l *testLog) Warnf(f string, a ...any)     { l.add("warn", f, a...) }
func (l *testLog) Errorf(f string, a ...any)    { l.add("error", f, a...) }
func (l *testLog) Criticalf(f string, a ...any) { l.add("critical", f, a...) }

// chain is a plugin on a fake host, with helpers to play a stream's events.
type chain struct {
	t    *testing.T
	host *fakeHost
	log  *testLog
	p    *Plugin
}

func newChain(t *testing.T, stages ...Stage) *chain {
	h := newFakeHost()
	l := &testLog{}
	c := &chain{t: t, host: h, log: l}
	c.p = newPlugin(h, l, func() time.Time { return h.now }, stages)
	return c
}

// open starts stream id with request headers (and a body to come unless
// endOfStream).
func (c *chain) open(id uint32, headers ...[2]string) *httpContext {
	c.host.current = id
	c.host.headers[id] = headers
	return c.p.NewHttpContext(id).(*httpContext)
}

// advance moves the clock and runs the tick, as the proxy would.
func (c *chain) advance(d time.Duration) {
	c.host.now = c.host.now.Add(d)
	c.host.current = 0
	c.p.OnTick()
}

// in makes stream id the current one, as the proxy does before a callback.
func (c *chain) in(id uint32) *chain { c.host.current = id; return c }

func (c *chain) resumes(id uint32, path string) int {
	return c.host.resumes[strconv.Itoa(int(id))+" "+path]
}
