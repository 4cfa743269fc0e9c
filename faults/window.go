package faults

import (
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// Window is a weekly time window in UTC, such as weekdays from 09:00 to
// 17:30. Start is inside the window and End is not. When Start is after End
// the window runs past midnight and belongs to Start's day: "fri" from
// 22:00 to 06:00 is Friday night until Saturday 06:00.
type Window struct {
	// Days lists the days the window starts on: mon, tue, wed, thu, fri,
	// sat, sun. At least one.
	Days []string `json:"days"`
	// Start is "HH:MM", from 00:00 to 23:59.
	Start string `json:"start"`
	// End is "HH:MM", from 00:00 to 23:59, not equal to Start.
	End string `json:"end"`

	days       uint8 // bit 1<<time.Weekday per listed day
	start, end int   // minutes after midnight
}

// DecodeJSON implements pipeline.Decoder.
func (w *Window) DecodeJSON(f *pipeline.Fields) {
	f.Strings("days", &w.Days)
	f.String("start", &w.Start)
	f.String("end", &w.End)
}

// Windows are the times faults may be injected: any window will do. No
// windows means always.
type Windows []Window

// Active reports whether now, taken in UTC, is inside any window. The
// windows must have been prepared by Config.Validate.
func (ws Windows) Active(now time.Time) bool {
	if len(ws) == 0 {
		return true
	}
	now = now.UTC()
	h, m, _ := now.Clock()
	day, minute := now.Weekday(), h*60+m
	for i := range ws {
		if ws[i].active(day, minute) {
			return true
		}
	}
	return false
}

func (w *Window) active(day time.Weekday, minute int) bool {
	if w.start < w.end {
		return w.on(day) && minute >= w.start && minute < w.end
	}
	yesterday := (day + 6) % 7
	return w.on(day) && minute >= w.start || w.on(yesterday) && minute < w.end
}

func (w *Window) on(day time.Weekday) bool { return w.days&(1<<day) != 0 }

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (ws Windows) prepare(path string) error {
	for i := range ws {
		if err := ws[i].prepare(pipeline.Index(path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (w *Window) prepare(path string) error {
	w.days = 0
	if len(w.Days) == 0 {
		return pipeline.Errorf(pipeline.Join(path, "days"), "give at least one day")
	}
	for i, name := range w.Days {
		at := pipeline.Index(pipeline.Join(path, "days"), i)
		day, ok := dayNames[name]
		if !ok {
			return pipeline.Errorf(at, "%q is not a day: use mon, tue, wed, thu, fri, sat or sun", name)
		}
		if w.on(day) {
			return pipeline.Errorf(at, "%q is listed twice", name)
		}
		w.days |= 1 << day
	}
	var err error
	if w.start, err = clock(pipeline.Join(path, "start"), w.Start); err != nil {
		return err
	}
	if w.end, err = clock(pipeline.Join(path, "end"), w.End); err != nil {
		return err
	}
	if w.start == w.end {
		return pipeline.Errorf(pipeline.Join(path, "end"), "must differ from start")
	}
	return nil
}

// clock parses "HH:MM" into minutes after midnight.
func clock(path, s string) (int, error) {
	digit := func(i int) (int, bool) { return int(s[i] - '0'), s[i] >= '0' && s[i] <= '9' }
	if len(s) == 5 && s[2] == ':' {
		h1, ok1 := digit(0)
		h2, ok2 := digit(1)
		m1, ok3 := digit(3)
		m2, ok4 := digit(4)
		h, m := h1*10+h2, m1*10+m2
		if ok1 && ok2 && ok3 && ok4 && h < 24 && m < 60 {
			return h*60 + m, nil
		}
	}
	return 0, pipeline.Errorf(path, "%q is not a time of day: use \"HH:MM\" from 00:00 to 23:59", s)
}
