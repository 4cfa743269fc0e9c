package harness

import (
	"io"
	"net/http"
	"time"
)

// ClientTimeout bounds every request of the harness's clients: a request a
// filter forgot to resume would otherwise hang until Envoy's 5-minute stream
// idle timeout.
const ClientTimeout = 5 * time.Second

// Client returns an HTTP/1.1 client with its own transport and keep-alives
// off: every request opens a new connection, so no pooled connection that
// Envoy closed in between can turn into a confusing retry or error.
func Client() *http.Client {
	return &http.Client{
		Timeout:   ClientTimeout,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		// A redirect is an answer to look at, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// H2CClient returns a client speaking HTTP/2 without TLS (prior knowledge),
// as gRPC clients do.
func H2CClient() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{
		Timeout:       ClientTimeout,
		Transport:     &http.Transport{Proxy: nil, Protocols: protocols},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Response is an answer read in full.
type Response struct {
	Status int
	Proto  string
	Header http.Header
	Body   string
}

// Do sends req with c (Client when nil) and reads the whole answer, failing
// the test on a transport error or timeout.
func Do(t TB, c *http.Client, req *http.Request) Response {
	t.Helper()
	if c == nil {
		c = Client()
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: string(body)}
}

// Get sends a GET with headers given as name, value pairs.
func Get(t TB, url string, headers ...string) Response {
	t.Helper()
	if len(headers)%2 != 0 {
		t.Fatalf("Get %s: headers must be name, value pairs, got %q", url, headers)
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return Do(t, nil, req)
}
