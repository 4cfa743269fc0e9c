// Package breaker is the decision logic of the steadfast breaker filter:
// it opens a circuit per key (upstream cluster, route or tenant header) on
// outlier signals, fails fast while open and probes in half-open.
package breaker
