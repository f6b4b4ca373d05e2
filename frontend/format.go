package frontend

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine"
)

func itoa(n int) string { return strconv.Itoa(n) }

// Itoa is strconv.Itoa for views.
func Itoa(n int) string { return strconv.Itoa(n) }

// Duration is a short human duration: 45s, 3m 05s, 2h 10m, 3d 4h.
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh %02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, s%86400/3600)
}

// Time formats a time for tables: the local date and time to the second.
func Time(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

// TimePtr is Time for an optional time, "—" when unset.
func TimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return Time(*t)
}

// ISO is a machine-readable time for <time datetime>.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Unix is a time in unix milliseconds, for the elapsed-time ticker.
func Unix(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Elapsed is how long a job ran, or has been running.
func Elapsed(j engine.Job, now time.Time) string {
	if j.StartTime == nil {
		return "—"
	}
	end := now
	if j.EndTime != nil {
		end = *j.EndTime
	}
	return Duration(end.Sub(*j.StartTime))
}

// Float formats a number with one decimal.
func Float(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// Num formats a limit as typed (no trailing zeros).
func Num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Count formats a count with thousands separators.
func Count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Project is what a job works on: the HFSS project path or the command.
func Project(j engine.Job) string {
	var probe struct {
		ProjectPath string   `json:"project_path"`
		Command     []string `json:"command"`
	}
	_ = json.Unmarshal(j.Config, &probe)
	if len(probe.Command) > 0 {
		return strings.Join(probe.Command, " ")
	}
	return probe.ProjectPath
}

// ProjectName is the last element of Project, for narrow tables.
func ProjectName(j engine.Job) string {
	p := Project(j)
	if p == "" {
		return "—"
	}
	if strings.ContainsAny(p, " ") && !strings.HasSuffix(strings.ToLower(p), ".aedt") && !strings.HasSuffix(strings.ToLower(p), ".aedb") {
		return p
	}
	return filepath.Base(strings.ReplaceAll(p, `\`, "/"))
}

// ReturnCode is a job's exit code, "—" while unknown.
func ReturnCode(j engine.Job) string {
	if j.ReturnCode == nil {
		return "—"
	}
	return strconv.Itoa(*j.ReturnCode)
}

// StatusClass is the CSS class of a status badge.
func StatusClass(s engine.Status) string { return "badge st-" + string(s) }

// Active reports whether a job may still change.
func Active(s engine.Status) bool { return !s.Terminal() }

// RowID is the DOM id of a job's row in the jobs table.
func RowID(id string) string { return "row-" + id }

// Priority shows a priority with its sign.
func Priority(p int) string {
	if p > 0 {
		return "+" + strconv.Itoa(p)
	}
	return strconv.Itoa(p)
}

// ServerZone names the zone Time writes in: "CET, UTC+01:00".
func ServerZone() string {
	return time.Now().Format("MST, UTC-07:00")
}
