package faults

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// at returns the given UTC time in the week of Monday 2025-01-06.
func at(day time.Weekday, hh, mm int) time.Time {
	offset := (int(day) + 6) % 7 // Monday is 0
	return time.Date(2025, 1, 6+offset, hh, mm, 0, 0, time.UTC)
}

func TestWindowsActive(t *testing.T) {
	const (
		none      = `[]`
		office    = `[{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:30"}]`
		overnight = `[{"days": ["fri"], "start": "22:00", "end": "06:00"}]`
		sunday    = `[{"days": ["sun"], "start": "22:00", "end": "02:00"}]`
		several   = `[{"days": ["mon"], "start": "01:00", "end": "02:00"}, {"days": ["wed"], "start": "03:00", "end": "04:00"}]`
	)
	tests := []struct {
		name    string
		windows string
		given   time.Time
		want    bool
	}{
		{name: "no windows: always", windows: none, given: at(time.Sunday, 3, 0), want: true},
		{name: "office: start is inside", windows: office, given: at(time.Monday, 9, 0), want: true},
		{name: "office: a minute before start", windows: office, given: at(time.Monday, 8, 59), want: false},
		{name: "office: last minute", windows: office, given: at(time.Friday, 17, 29), want: true},
		{name: "office: end is outside", windows: office, given: at(time.Friday, 17, 30), want: false},
		{name: "office: other day", windows: office, given: at(time.Saturday, 12, 0), want: false},
		{name: "overnight: start", windows: overnight, given: at(time.Friday, 22, 0), want: true},
		{name: "overnight: before midnight", windows: overnight, given: at(time.Friday, 23, 59), want: true},
		{name: "overnight: midnight, next day", windows: overnight, given: at(time.Saturday, 0, 0), want: true},
		{name: "overnight: last minute", windows: overnight, given: at(time.Saturday, 5, 59), want: true},
		{name: "overnight: end", windows: overnight, given: at(time.Saturday, 6, 0), want: false},
		{name: "overnight: the morning of the start day belongs to the day before", windows: overnight, given: at(time.Friday, 5, 0), want: false},
		{name: "overnight: the evening of the next day", windows: overnight, given: at(time.Saturday, 22, 0), want: false},
		{name: "overnight across the week: sunday night", windows: sunday, given: at(time.Sunday, 23, 0), want: true},
		{name: "overnight across the week: monday morning", windows: sunday, given: at(time.Monday, 1, 0), want: true},
		{name: "overnight across the week: sunday morning", windows: sunday, given: at(time.Sunday, 1, 0), want: false},
		{name: "several: first", windows: several, given: at(time.Monday, 1, 30), want: true},
		{name: "several: second", windows: several, given: at(time.Wednesday, 3, 30), want: true},
		{name: "several: neither", windows: several, given: at(time.Wednesday, 1, 30), want: false},
		{name: "seconds do not matter", windows: office, given: at(time.Monday, 17, 29).Add(59*time.Second + 999*time.Millisecond), want: true},
		{name: "judged in UTC", windows: office, given: at(time.Saturday, 1, 0).In(time.FixedZone("UTC-10", -10*3600)), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseDefault(t, `{"active_windows": `+tt.windows+`}`)
			assert.Equal(t, tt.want, c.ActiveWindows.Active(tt.given))
		})
	}
}
