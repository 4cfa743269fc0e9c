package pipeline

// MaxStages bounds the stages of one chain (the suite has four).
const MaxStages = 8

// A Stage is one filter inside the chain: created once per plugin from the
// filter's configuration, it decides for every stream whether it takes part.
type Stage interface {
	// Name is the filter's name, as in metrics and logs.
	Name() string
	// Start is called when the chain reaches the stage at a stream's request
	// headers, after every earlier stage let the request go on. It returns
	// the stream's handler, or nil when the stage sits this stream out; a
	// stage that sits out costs nothing more for the stream. Start may read
	// the request and edit its headers; it must not wait for anything.
	Start(s *Stream) Handler
	// OnFailure is the answer when the stage fails on a stream (a panic, or
	// a Fail verdict): a reply fails closed; nil fails open, and the stage
	// is left out of the rest of the stream.
	OnFailure() *Reply
}

// Wants says which optional events a handler receives.
type Wants uint8

const (
	// WantRequestBody delivers the request body, each byte once, as it
	// passes the filter.
	WantRequestBody Wants = 1 << iota
	// WantResponseBody delivers the response body's buffered size.
	WantResponseBody
	// WantResponseTrailers delivers the response trailers event.
	WantResponseTrailers
)

// Handler is a stage's part in one stream. Every method returns a Verdict;
// the chain alone turns verdicts into effects on the proxy. Embed
// BaseHandler for the events a stage does not care about.
type Handler interface {
	// Wants is read once, after Start.
	Wants() Wants
	// RequestHeaders is the stage's turn at the request headers, in stage
	// order.
	RequestHeaders(s *Stream) Verdict
	// RequestBody delivers the next piece of the request body (with
	// WantRequestBody); end is true on the last, which is empty when the
	// request ends with trailers.
	RequestBody(s *Stream, chunk []byte, end bool) Verdict
	// ResponseHeaders is the stage's turn at the response headers, in
	// reverse stage order, as Envoy runs encoder filters.
	ResponseHeaders(s *Stream) Verdict
	// ResponseBody reports the response body's size so far (with
	// WantResponseBody).
	ResponseBody(s *Stream, size int, end bool) Verdict
	// ResponseTrailers is the response trailers event (with
	// WantResponseTrailers).
	ResponseTrailers(s *Stream) Verdict
	// Timer runs when the deadline the handler set with Stream.After is due.
	Timer(s *Stream) Verdict
	// Callout runs when the handler's HTTP callout is answered or failed.
	Callout(s *Stream, c *Callout) Verdict
	// Done is the end of the stream, however it ended: release here what
	// the stream holds.
	Done(s *Stream)
}

// BaseHandler lets every event pass; embed it and override what matters.
type BaseHandler struct{}

func (BaseHandler) Wants() Wants                              { return 0 }
func (BaseHandler) RequestHeaders(*Stream) Verdict            { return Continue }
func (BaseHandler) RequestBody(*Stream, []byte, bool) Verdict { return Continue }
func (BaseHandler) ResponseHeaders(*Stream) Verdict           { return Continue }
func (BaseHandler) ResponseBody(*Stream, int, bool) Verdict   { return Continue }
func (BaseHandler) ResponseTrailers(*Stream) Verdict          { return Continue }
func (BaseHandler) Timer(*Stream) Verdict                     { return Continue }
func (BaseHandler) Callout(*Stream, *Callout) Verdict         { return Continue }
func (BaseHandler) Done(*Stream)                              {}
