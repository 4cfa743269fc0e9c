package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestShadowsReportOnceWhenTheyWouldOpen(t *testing.T) {
	c := parse(t, `{"trip": {"consecutive_failures": 4}, "shadow": [
		{"name": "strict", "trip": {"consecutive_failures": 2}},
		{"name": "rate", "trip": {"consecutive_failures": 0, "failure_rate": 50, "minimum_calls": 3}}]}`)
	assert.Equal(t, []string{"strict", "rate"}, c.ShadowNames())

	s, seen := calls(c, Snapshot{}, t0, ok, failed, failed, failed, ok, failed)
	assert.Equal(t, []outcome{
		allowed,
		allowed,
		{Decision: Decision{Verdict: Allow}, Transition: Transition{Shadows: 0b11}}, // 2 in a row; 2 of 3 failed
		allowed, // both still would be open: no second report
		allowed, // strict clears; rate: 3 of 5 still
		{Decision: Decision{Verdict: Allow}, Transition: Transition{Shadows: 0b00}},
	}, seen)
	assert.Equal(t, uint8(0b10), s.Shadows)

	s, o := call(c, s, sec(6), failed)
	assert.Equal(t, outcome{Decision: Decision{Verdict: Allow}, Transition: Transition{Shadows: 0b01}}, o, "strict opens again")
	s, o = call(c, s, sec(7), failed)
	assert.Equal(t, allowed, o)
	s, o = call(c, s, sec(8), failed)
	assert.Equal(t, outcome{Decision: Decision{Verdict: Allow}, Transition: Transition{
		From: Closed, To: Open, Reason: "4 consecutive failures", OpenFor: 30 * time.Second,
	}}, o)
	assert.Equal(t, uint8(0), s.Shadows, "shadows start afresh with the state")
}
