package replay

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a point in time as the command line and the API take
// it: a duration back from now ("7d", "36h", "90m", "2w"), a date
// ("2026-03-01", midnight UTC) or an RFC 3339 time.
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("time: empty")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	for _, unit := range []struct {
		suffix string
		d      time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, unit.suffix); ok {
			if v, err := strconv.ParseFloat(n, 64); err == nil && v > 0 && v <= 3660 {
				return now.Add(-time.Duration(v * float64(unit.d))), nil
			}
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want a duration back from now (7d, 36h), a date (2026-03-01) or an RFC 3339 time", s)
}
