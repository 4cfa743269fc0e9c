package pipeline

import "time"

// Attempt is the outcome of one try of a request that a stage made or
// held on its own: the upstream's first answer that a retry stage held
// back, or the answer to its callout. Earlier stages never see these
// answers go by, so the stage reports them (Stream.ReportAttempt) to the
// handlers that want to count them, such as a circuit breaker's.
type Attempt struct {
	// Number is the try's number, 1 for the first.
	Number int
	// Status is the HTTP status; 0 when there was none.
	Status int
	// GRPCStatus, from headers or trailers, when HasGRPCStatus.
	GRPCStatus    int
	HasGRPCStatus bool
	// NotReached: the upstream was never reached; Reset: it reset the
	// stream or the try timed out.
	NotReached, Reset bool
	// Elapsed is the time from the try's start to its answer.
	Elapsed time.Duration
	// Header reads a header of the answer by lower-case name; nil when
	// there is none to read.
	Header func(name string) (string, bool)
}

// AttemptObserver is implemented by a Handler that learns the outcome of
// the tries later stages make or hold on their own.
type AttemptObserver interface {
	Attempt(s *Stream, a *Attempt)
}

// ReportAttempt gives a to the handler of every stage before the running
// one that takes part in the stream and observes attempts, nearest first.
// An observer that panics is left out of the rest of the stream; the
// stream goes on.
func (s *Stream) ReportAttempt(a *Attempt) {
	for i := s.cur - 1; i >= 0; i-- {
		if !s.live(i) {
			continue
		}
		o, ok := s.handlers[i].(AttemptObserver)
		if !ok {
			continue
		}
		v := s.invoke(i, func(Handler) Verdict { o.Attempt(s, a); return Continue })
		if v.kind == kindFail {
			s.failed[i] = true
			s.p.countFailure(i)
			s.p.log.Warnf("steadfast %s: attempt report: %v; the stream goes on without it", s.stageName(i), v.err)
		}
	}
}
