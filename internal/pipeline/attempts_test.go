package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// observer is a handler that records the attempts reported to it.
type observer struct {
	BaseHandler
	seen  []int
	panic bool
}

func (o *observer) Attempt(_ *Stream, a *Attempt) {
	if o.panic {
		panic("observer broke")
	}
	o.seen = append(o.seen, a.Number)
}

func TestReportAttemptReachesEarlierObserversOnly(t *testing.T) {
	first, second := &observer{}, &observer{}
	reporter := &script{onResp: func(s *Stream) Verdict {
		s.ReportAttempt(&Attempt{Number: 1, Status: 503})
		s.ReportAttempt(&Attempt{Number: 2, Status: 200})
		return Continue
	}}
	after := &observer{}
	c := newChain(t,
		&stage{name: "a", start: func(*Stream) Handler { return first }},
		&stage{name: "b", start: func(*Stream) Handler { return second }},
		&stage{name: "r", start: func(*Stream) Handler { return reporter }},
		&stage{name: "z", start: func(*Stream) Handler { return after }},
	)
	x := c.open(1)
	x.OnHttpRequestHeaders(0, true)
	x.OnHttpResponseHeaders(0, true)
	assert.Equal(t, []int{1, 2}, first.seen)
	assert.Equal(t, []int{1, 2}, second.seen)
	assert.Empty(t, after.seen, "a later stage is no observer of an earlier one's attempts")
}

func TestAnObserverThatPanicsIsLeftOutAndTheStreamGoesOn(t *testing.T) {
	broken := &observer{panic: true}
	reporter := &script{onResp: func(s *Stream) Verdict {
		s.ReportAttempt(&Attempt{Number: 1})
		s.ReportAttempt(&Attempt{Number: 2})
		return Continue
	}}
	c := newChain(t,
		&stage{name: "a", start: func(*Stream) Handler { return broken }},
		&stage{name: "r", start: func(*Stream) Handler { return reporter }},
	)
	var failures []int
	c.p.countFailure = func(i int) { failures = append(failures, i) }
	x := c.open(1)
	x.OnHttpRequestHeaders(0, true)
	x.OnHttpResponseHeaders(0, true)
	assert.Equal(t, []int{0}, failures, "counted once, then left out")
	require.Empty(t, c.host.replies[1], "no reply: the stream goes on")
	assert.Contains(t, c.log.lines[0], "attempt report: panic: observer broke")
}
