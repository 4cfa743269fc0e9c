package pipeline

import "errors"

// Verdict is what a stage decides at one event of a stream.
type Verdict struct {
	kind  verdictKind
	reply *Reply
	err   error
}

type verdictKind uint8

const (
	kindContinue verdictKind = iota
	kindHold
	kindReply
	kindFail
)

// Continue lets the stream go on to the next stage, and past the filter
// once no stage holds it.
var Continue = Verdict{}

// Hold keeps the stream where it is until the stage's next event: more of
// the request body (with WantRequestBody, while the request has not ended),
// the deadline set with Stream.After, or the callout sent with
// Stream.Dispatch. A Hold with none of these pending would wait for ever:
// the chain treats it as a failure of the stage (ErrStuck).
func Hold() Verdict { return Verdict{kind: kindHold} }

// Respond answers the stream locally with r, which must not be changed
// afterwards. On the response path it replaces the upstream's answer.
func Respond(r *Reply) Verdict { return Verdict{kind: kindReply, reply: r} }

// Fail reports that the stage could not do its work on this stream; the
// stage's OnFailure decides between answering and letting the stream pass.
func Fail(err error) Verdict { return Verdict{kind: kindFail, err: err} }

// ErrStuck is the failure of a stage that held a stream with nothing
// pending that could release it.
var ErrStuck = errors.New("held the stream with nothing pending to release it")

// Reply is a local answer.
type Reply struct {
	Status  int
	Headers [][2]string
	// Body of the answer; for a gRPC request, the grpc-message.
	Body []byte
	// GRPCStatus answers a gRPC request (content-type application/grpc...)
	// with a trailers-only response carrying this grpc-status; nil derives
	// it from Status the way gRPC maps HTTP statuses.
	GRPCStatus *int
}

// grpcStatus is the grpc-status of r for a gRPC request.
func (r *Reply) grpcStatus() int32 {
	if r.GRPCStatus != nil {
		return int32(*r.GRPCStatus)
	}
	switch r.Status {
	case 400:
		return 13 // INTERNAL
	case 401:
		return 16 // UNAUTHENTICATED
	case 403:
		return 7 // PERMISSION_DENIED
	case 404:
		return 12 // UNIMPLEMENTED
	case 429, 502, 503, 504:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}

// Callout is the answer to an HTTP callout.
type Callout struct {
	// Err is set when the callout failed (reset, timeout, no healthy
	// upstream); the other fields are then empty.
	Err      error
	Status   int
	Headers  [][2]string
	Body     []byte
	Trailers [][2]string
}

// Header returns a header of the callout's answer by lower-case name.
func (c *Callout) Header(name string) (string, bool) {
	for _, h := range c.Headers {
		if h[0] == name {
			return h[1], true
		}
	}
	return "", false
}

// ErrCalloutFailed is the Err of a callout the proxy could not complete.
var ErrCalloutFailed = errors.New("callout failed")
