package breaker

import (
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

var _ pipeline.AttemptObserver = (*handler)(nil)

// Attempt counts a try that a later stage (the retry filter) made or held
// on its own. The first try settles the stream's ticket, as its answer
// would have at response headers; each later try is a call of its own in a
// closed circuit. A circuit that is not closed ignores later tries: the
// retry filter does not retry into it, and only probes count there.
func (h *handler) Attempt(s *pipeline.Stream, a *pipeline.Attempt) {
	now := s.Now()
	r := Response{
		Status: a.Status, GRPCStatus: a.GRPCStatus, HasGRPCStatus: a.HasGRPCStatus,
		NotReached: a.NotReached, Reset: a.Reset, Elapsed: a.Elapsed,
	}
	if a.Header != nil {
		if name := h.cfg.FailureHeader(); name != "" {
			r.Header, r.HasHeader = a.Header(name)
		}
		if h.cfg.WantsPushback(r.Status) {
			r.RetryAfter, _ = a.Header("retry-after")
			r.RateLimitReset, _ = a.Header("ratelimit-reset")
		}
	}
	if !h.done {
		h.resp = r
		h.finish(now)
		return
	}
	h.retried(r, now)
}

// retried records a later try's outcome as a call of a closed circuit.
func (h *handler) retried(r Response, now time.Time) {
	result := h.cfg.Classify(r, now)
	h.m.outcomes[result.Outcome].Increment(1)
	var tr Transition
	err := h.st.update(func(snap Snapshot) (Snapshot, bool) {
		if snap.State != Closed {
			return snap, false
		}
		next, t := h.cfg.Done(snap, Ticket{Kind: Call, Generation: snap.Generation}, result, now, h.st.env.Rand())
		tr = t
		return next, true
	}, h.m)
	if err != nil {
		h.m.contention.Increment(1)
		return
	}
	h.st.transitioned(h.key, h.cfg, tr, h.m)
}
