package pipeline

import (
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// Host is every effect the chain has on the proxy for one plugin. The
// chain and the stream view are its only callers: stages reach the host
// through a *Stream, so the chain can test every path against a fake and
// count resumes and replies.
//
// Header and body calls act on the current stream, the one whose callback
// is running or which SetEffectiveContext made current.
type Host interface {
	RequestHeader(name string) (string, bool)
	RequestHeaders() [][2]string
	SetRequestHeader(name, value string) error
	RemoveRequestHeader(name string) error
	RequestBody(start, size int) ([]byte, error)
	ResumeRequest() error

	ResponseHeader(name string) (string, bool)
	ResponseHeaders() [][2]string
	SetResponseHeader(name, value string) error
	RemoveResponseHeader(name string) error
	ResponseTrailer(name string) (string, bool)
	ResumeResponse() error

	// SendResponse answers the stream locally; grpcStatus -1 means none.
	SendResponse(status int, headers [][2]string, body []byte, grpcStatus int32) error

	// Property reads a stream or plugin property such as
	// {"xds", "route_name"}; ok is false when the host has none.
	Property(path []string) ([]byte, bool)
	SetProperty(path []string, value []byte) error

	// SetEffectiveContext makes a stream current outside its callbacks
	// (timers, callouts); an error means the stream is gone.
	SetEffectiveContext(id uint32) error
	// SetTickPeriod arms the plugin's tick timer; 0 turns it off.
	SetTickPeriod(ms uint32) error

	// DispatchHTTPCall sends a request to an upstream cluster; done runs
	// when it is answered or failed, with the plugin as the current context.
	DispatchHTTPCall(cluster string, headers [][2]string, body []byte, timeout time.Duration,
		done func(numHeaders, bodySize, numTrailers int)) error
	// CalloutResponseHeaders, CalloutResponseBody and
	// CalloutResponseTrailers read the answer inside done.
	CalloutResponseHeaders() [][2]string
	CalloutResponseBody(size int) []byte
	CalloutResponseTrailers() [][2]string
}

// proxyHost is the Host of a running proxy, through the proxy-wasm ABI.
type proxyHost struct{}

var _ Host = proxyHost{}

func (proxyHost) RequestHeader(name string) (string, bool) {
	v, err := proxywasm.GetHttpRequestHeader(name)
	return v, err == nil
}

func (proxyHost) RequestHeaders() [][2]string {
	h, _ := proxywasm.GetHttpRequestHeaders()
	return h
}

func (proxyHost) SetRequestHeader(name, value string) error {
	return proxywasm.ReplaceHttpRequestHeader(name, value)
}

func (proxyHost) RemoveRequestHeader(name string) error {
	return proxywasm.RemoveHttpRequestHeader(name)
}

func (proxyHost) RequestBody(start, size int) ([]byte, error) {
	return proxywasm.GetHttpRequestBody(start, size)
}

func (proxyHost) ResumeRequest() error { return proxywasm.ResumeHttpRequest() }

func (proxyHost) ResponseHeader(name string) (string, bool) {
	v, err := proxywasm.GetHttpResponseHeader(name)
	return v, err == nil
}

func (proxyHost) ResponseHeaders() [][2]string {
	h, _ := proxywasm.GetHttpResponseHeaders()
	return h
}

func (proxyHost) SetResponseHeader(name, value string) error {
	return proxywasm.ReplaceHttpResponseHeader(name, value)
}

func (proxyHost) RemoveResponseHeader(name string) error {
	return proxywasm.RemoveHttpResponseHeader(name)
}

func (proxyHost) ResponseTrailer(name string) (string, bool) {
	v, err := proxywasm.GetHttpResponseTrailer(name)
	return v, err == nil
}

func (proxyHost) ResumeResponse() error { return proxywasm.ResumeHttpResponse() }

func (proxyHost) SendResponse(status int, headers [][2]string, body []byte, grpcStatus int32) error {
	return proxywasm.SendHttpResponse(uint32(status), headers, body, grpcStatus)
}

func (proxyHost) Property(path []string) ([]byte, bool) {
	b, err := proxywasm.GetProperty(path)
	return b, err == nil
}

func (proxyHost) SetProperty(path []string, value []byte) error {
	return proxywasm.SetProperty(path, value)
}

func (proxyHost) SetEffectiveContext(id uint32) error { return proxywasm.SetEffectiveContext(id) }

func (proxyHost) SetTickPeriod(ms uint32) error { return proxywasm.SetTickPeriodMilliSeconds(ms) }

func (proxyHost) DispatchHTTPCall(cluster string, headers [][2]string, body []byte, timeout time.Duration,
	done func(numHeaders, bodySize, numTrailers int)) error {
	ms := uint32(min(max(timeout.Milliseconds(), 1), int64(^uint32(0))))
	_, err := proxywasm.DispatchHttpCall(cluster, headers, body, nil, ms, done)
	return err
}

func (proxyHost) CalloutResponseHeaders() [][2]string {
	h, _ := proxywasm.GetHttpCallResponseHeaders()
	return h
}

func (proxyHost) CalloutResponseBody(size int) []byte {
	if size <= 0 {
		return nil
	}
	b, _ := proxywasm.GetHttpCallResponseBody(0, size)
	return b
}

func (proxyHost) CalloutResponseTrailers() [][2]string {
	t, _ := proxywasm.GetHttpCallResponseTrailers()
	return t
}
