package solverlog

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The log's time stamps are the solver machine's local times:
// "11:55:40 AM  Oct 12, 2025" (messages, batch run start and stop) and
// "10/12/2025 11:55:53" (profile sections).
var timeLayouts = []string{
	"3:04:05 PM Jan 2, 2006",
	"01/02/2006 15:04:05",
	"1/2/2006 15:04:05",
	"Mon Jan 2 15:04:05 2006",
}

// parseTime reads a time stamp in any of the log's layouts.
func parseTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) < 8 || len(s) > 40 {
		return time.Time{}, false
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// splitTime splits the time stamp off the end of a message:
// "text (11:55:40 AM  Oct 12, 2025)".
func splitTime(s string, loc *time.Location) (string, time.Time, bool) {
	if !strings.HasSuffix(s, ")") {
		return s, time.Time{}, false
	}
	open := strings.LastIndexByte(s, '(')
	if open < 0 || len(s)-open > 45 {
		return s, time.Time{}, false
	}
	t, ok := parseTime(s[open+1:len(s)-1], loc)
	if !ok {
		return s, time.Time{}, false
	}
	return strings.TrimSpace(s[:open]), t, true
}

// parseDuration reads "HH:MM:SS" (hours may pass 24), "D.HH:MM:SS" or
// "MM:SS" as seconds.
func parseDuration(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	var days int64
	if d, rest, ok := strings.Cut(s, "."); ok {
		n, ok := parseInt(d)
		if !ok || n > 1e6 || strings.Count(rest, ":") != 2 {
			return 0, false
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	var total int64
	for _, part := range parts {
		n, ok := parseInt(part)
		if !ok || n > 1e7 {
			return 0, false
		}
		total = total*60 + n
	}
	return float64(days*86400 + total), true
}

// parseInt reads a non-negative decimal integer of at most 15 digits.
func parseInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 15 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseFloat reads a finite number; "N/A" and anything else are not one.
func parseFloat(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 30 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// megabytes reads an amount of memory with its unit letter (K, M, G, T).
func megabytes(num, unit string) (float64, bool) {
	v, ok := parseFloat(num)
	if !ok || v < 0 {
		return 0, false
	}
	switch strings.ToUpper(strings.TrimSpace(unit)) {
	case "K":
		v /= 1024
	case "M":
	case "G":
		v *= 1024
	case "T":
		v *= 1024 * 1024
	default:
		return 0, false
	}
	if math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
