package breaker

import "time"

// shadows evaluates the shadow policies on the Closed circuit s, which has
// just recorded an outcome. Shadows share the circuit's counts: its
// consecutive failures and its window (trip.window), so they cost no
// space in the snapshot beyond a bit each. It returns the shadows that
// would be open now, and those among them that were not before: a shadow
// reports once when it would open, and again only after its condition has
// cleared. Shadows see only the outcomes of calls the real policy let
// through, and start afresh whenever the circuit changes state.
func (c *Config) shadows(s Snapshot, now time.Time) (open, opened uint8) {
	for i, sh := range c.p.shadows {
		if _, ok := sh.trip.trips(s, now); ok {
			open |= 1 << i
		}
	}
	return open, open &^ s.Shadows
}
