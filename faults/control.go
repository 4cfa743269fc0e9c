package faults

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// Control headers: with header control on and the token present, a request
// asks for its own faults with these.
const (
	// HeaderAbort asks for an abort with this HTTP status (200 to 599).
	HeaderAbort = "x-steadfast-fault-abort"
	// HeaderAbortGRPC asks for an abort with this gRPC status (0 to 16),
	// used when the request is gRPC.
	HeaderAbortGRPC = "x-steadfast-fault-abort-grpc"
	// HeaderAbortPercentage is the chance of the abort, 0 to 100. Absent: 100.
	HeaderAbortPercentage = "x-steadfast-fault-abort-percentage"
	// HeaderDelay asks for a delay: a Go duration such as "250ms" or a
	// whole number of milliseconds, at most MaxControlDelay.
	HeaderDelay = "x-steadfast-fault-delay"
	// HeaderDelayPercentage is the chance of the delay, 0 to 100. Absent: 100.
	HeaderDelayPercentage = "x-steadfast-fault-delay-percentage"
)

// MaxControlDelay is the longest delay a request can ask for; a longer one
// is malformed, not shortened.
const MaxControlDelay = 60 * time.Second

// ControlHeaders lists every control header (not the token header, whose
// name is configurable: see Config.TokenHeader).
var ControlHeaders = []string{HeaderAbort, HeaderAbortGRPC, HeaderAbortPercentage, HeaderDelay, HeaderDelayPercentage}

// Control is the faults a request asks for through the control headers.
type Control struct {
	// Abort is nil when none was asked for. Either abort header asks for
	// one; the other status takes its default.
	Abort           *Abort
	AbortPercentage pipeline.Percent
	// Delay is 0 when none was asked for.
	Delay           time.Duration
	DelayPercentage pipeline.Percent
}

// ControlError is a malformed control header value.
type ControlError struct {
	Header string
	Value  string // shortened to maxErrorValue bytes
	Msg    string
}

func (e *ControlError) Error() string {
	return e.Header + ": " + strconv.Quote(e.Value) + " " + e.Msg
}

// maxErrorValue bounds how much of a client's value an error repeats.
const maxErrorValue = 32

// ParseControl reads the control headers through h. Values are read
// strictly: statuses and milliseconds are plain decimal digits, percentages
// plain digits with an optional fraction (no sign, exponent, hex, Inf or
// NaN), and a value out of range is malformed, never clamped. A malformed
// value drops the fault it belongs to (a bad abort percentage drops the
// abort) and is reported in the error, which joins one ControlError per bad
// header; the well-formed faults are returned all the same.
func ParseControl(h func(string) (string, bool)) (Control, error) {
	c := Control{AbortPercentage: 100, DelayPercentage: 100}
	var errs []error
	bad := func(header, value, msg string) {
		if len(value) > maxErrorValue {
			value = value[:maxErrorValue] + "..."
		}
		errs = append(errs, &ControlError{Header: header, Value: value, Msg: msg})
	}

	abort := Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}
	asked, ok := false, true
	if v, given := h(HeaderAbort); given {
		asked = true
		n, valid := parseStatus(v, 200, 599)
		if !valid {
			bad(HeaderAbort, v, "is not an HTTP status from 200 to 599")
			ok = false
		}
		abort.HTTPStatus = n
	}
	if v, given := h(HeaderAbortGRPC); given {
		asked = true
		n, valid := parseStatus(v, 0, 16)
		if !valid {
			bad(HeaderAbortGRPC, v, "is not a gRPC status from 0 to 16")
			ok = false
		}
		abort.GRPCStatus = n
	}
	if v, given := h(HeaderAbortPercentage); given {
		p, valid := parsePercent(v)
		if !valid {
			bad(HeaderAbortPercentage, v, "is not a percentage from 0 to 100")
			ok = false
		} else {
			c.AbortPercentage = p
		}
	}
	if asked && ok {
		c.Abort = &abort
	}

	delay, ok := time.Duration(0), true
	if v, given := h(HeaderDelay); given {
		d, msg := parseControlDelay(v)
		if msg != "" {
			bad(HeaderDelay, v, msg)
			ok = false
		}
		delay = d
	}
	if v, given := h(HeaderDelayPercentage); given {
		p, valid := parsePercent(v)
		if !valid {
			bad(HeaderDelayPercentage, v, "is not a percentage from 0 to 100")
			ok = false
		} else {
			c.DelayPercentage = p
		}
	}
	if ok {
		c.Delay = delay
	}
	return c, errors.Join(errs...)
}

// parseStatus reads a status from lo to hi written as plain digits.
func parseStatus(v string, lo, hi int) (int, bool) {
	s := strings.TrimSpace(v)
	if !isDigits(s) || len(s) > 3 {
		return 0, false
	}
	n, _ := strconv.Atoi(s) // three digits at most: no error
	return n, n >= lo && n <= hi
}

// parsePercent reads a percentage from 0 to 100 written as plain digits
// with an optional fraction: "5", "12.5", "0.01".
func parsePercent(v string) (pipeline.Percent, bool) {
	s := strings.TrimSpace(v)
	whole, frac, dotted := strings.Cut(s, ".")
	if !isDigits(whole) || dotted && !isDigits(frac) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f > 100 {
		return 0, false
	}
	return pipeline.Percent(f), true
}

// parseControlDelay parses a control delay of at most MaxControlDelay; a
// non-empty message says why the value is malformed.
func parseControlDelay(v string) (time.Duration, string) {
	s := strings.TrimSpace(v)
	if strings.HasPrefix(s, "-") {
		return 0, "must not be negative"
	}
	var d time.Duration
	if isDigits(s) {
		ms, err := strconv.ParseUint(s, 10, 64)
		if err != nil || ms > uint64(MaxControlDelay/time.Millisecond) {
			return 0, tooLong
		}
		d = time.Duration(ms) * time.Millisecond
	} else {
		var err error
		// A sign is no part of a delay, though ParseDuration takes "+1s".
		if d, err = time.ParseDuration(s); err != nil || strings.HasPrefix(s, "+") {
			return 0, `is not a duration such as "250ms" or a whole number of milliseconds`
		}
	}
	if d > MaxControlDelay {
		return 0, tooLong
	}
	return d, ""
}

// tooLong is the message of a delay over MaxControlDelay.
const tooLong = "is longer than 60s"

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
