package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGRPCTimeout(t *testing.T) {
	tests := []struct {
		given string
		want  time.Duration
		ok    bool
	}{
		{"1H", time.Hour, true},
		{"2M", 2 * time.Minute, true},
		{"3S", 3 * time.Second, true},
		{"250m", 250 * time.Millisecond, true},
		{"7u", 7 * time.Microsecond, true},
		{"9n", 9, true},
		{"99999999H", MaxDuration, true},
		{"123456789S", 0, false},
		{"S", 0, false},
		{"10", 0, false},
		{"10s", 0, false},
		{"-1S", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		d, ok := GRPCTimeout(tt.given)
		assert.Equal(t, tt.ok, ok, tt.given)
		assert.Equal(t, tt.want, d, tt.given)
	}
}

func TestExpectedRqTimeout(t *testing.T) {
	d, ok := ExpectedRqTimeout("1500")
	assert.True(t, ok)
	assert.Equal(t, 1500*time.Millisecond, d)
	for _, v := range []string{"0", "-1", "1.5", "x", ""} {
		_, ok := ExpectedRqTimeout(v)
		assert.False(t, ok, v)
	}
}

func parsed(t *testing.T, config string) *Config {
	t.Helper()
	r, err := Parse([]byte(config))
	require.NoError(t, err)
	return r.Default
}

func TestDeadlineTheShortestWins(t *testing.T) {
	c := parsed(t, `{"deadline": "2s"}`)
	assert.Equal(t, now.Add(2*time.Second), c.DeadlineOf(now, "", ""))
	assert.Equal(t, now.Add(500*time.Millisecond), c.DeadlineOf(now, "500m", ""))
	assert.Equal(t, now.Add(300*time.Millisecond), c.DeadlineOf(now, "500m", "300"))
	assert.Equal(t, now.Add(2*time.Second), c.DeadlineOf(now, "5S", "garbage"))
	off := parsed(t, `{"deadline_from_request": false}`)
	assert.True(t, off.DeadlineOf(now, "1S", "100").IsZero())
}

func TestAdmit(t *testing.T) {
	deadline := now.Add(time.Second)
	perTry := parsed(t, `{"per_try_timeout": "300ms"}`)
	none := parsed(t, `{}`)
	tests := []struct {
		name     string
		c        *Config
		deadline time.Time
		wait     time.Duration
		timeout  time.Duration
		ok       bool
	}{
		{"no deadline, per-try timeout", perTry, time.Time{}, time.Hour, 300 * time.Millisecond, true},
		{"no deadline, no per-try timeout", none, time.Time{}, time.Hour, DefaultTryTimeout, true},
		{"the whole try fits", perTry, deadline, 700 * time.Millisecond, 300 * time.Millisecond, true},
		{"the try cannot finish", perTry, deadline, 701 * time.Millisecond, 300 * time.Millisecond, false},
		{"the last try is cut to what is left", none, deadline, 900 * time.Millisecond, 100 * time.Millisecond, true},
		{"too little left", none, deadline, 995 * time.Millisecond, 5 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout, ok := tt.c.Admit(now, tt.deadline, tt.wait)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.timeout, timeout)
		})
	}
}

func TestFirstTryTimeout(t *testing.T) {
	assert.Equal(t, time.Duration(0), parsed(t, `{}`).FirstTryTimeout(now, time.Time{}))
	perTry := parsed(t, `{"per_try_timeout": "300ms"}`)
	assert.Equal(t, 300*time.Millisecond, perTry.FirstTryTimeout(now, time.Time{}))
	assert.Equal(t, 200*time.Millisecond, perTry.FirstTryTimeout(now, now.Add(200*time.Millisecond)))
	assert.Equal(t, time.Millisecond, perTry.FirstTryTimeout(now, now.Add(-time.Second)), "never 0: that would turn the timeout off")
}
