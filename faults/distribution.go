package faults

import (
	"math"
	"time"
)

// z99 is the standard normal quantile of 0.99: a log-normal delay's p99 is
// its median times exp(sigma·z99).
var z99 = math.Sqrt2 * math.Erfinv(2*0.99-1)

type distKind uint8

const (
	distFixed distKind = iota
	distUniform
	distLogNormal
)

// distribution is a prepared delay distribution. sample maps a uniform
// value in [0, 1) to a delay, so tests can pin the value and the caller
// chooses where it comes from (the random source, or a request id hash).
type distribution struct {
	kind  distKind
	base  time.Duration // fixed: the delay; uniform: min; log-normal: median
	span  time.Duration // uniform: max - min
	max   time.Duration // log-normal: the clamp
	sigma float64       // log-normal: the standard deviation of ln(delay)
}

func fixed(d time.Duration) distribution { return distribution{kind: distFixed, base: d} }

func uniform(lo, hi time.Duration) distribution {
	return distribution{kind: distUniform, base: lo, span: hi - lo}
}

// logNormal is the log-normal distribution with the given median and 99th
// percentile (p99 >= median > 0), clamped to clamp.
func logNormal(median, p99, clamp time.Duration) distribution {
	return distribution{
		kind:  distLogNormal,
		base:  median,
		max:   clamp,
		sigma: math.Log(float64(p99)/float64(median)) / z99,
	}
}

// sample returns the delay at quantile u. Values outside [0, 1) are pulled
// into it, NaN counts as 0.
func (d *distribution) sample(u float64) time.Duration {
	switch {
	case !(u >= 0):
		u = 0
	case u >= 1:
		u = math.Nextafter(1, 0)
	}
	switch d.kind {
	case distUniform:
		// u < 1 keeps the product below span, even near MaxInt64.
		return d.base + min(time.Duration(u*float64(d.span)), d.span)
	case distLogNormal:
		if d.sigma == 0 {
			return min(d.base, d.max)
		}
		// The inverse normal CDF of u, then the log-normal quantile. At
		// u = 0 it is exp(-Inf) = 0; the clamp also catches +Inf.
		z := math.Sqrt2 * math.Erfinv(2*u-1)
		f := float64(d.base) * math.Exp(d.sigma*z)
		if !(f < float64(d.max)) {
			return d.max
		}
		return time.Duration(f)
	default:
		return d.base
	}
}
