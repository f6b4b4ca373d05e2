package frontend

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/solverlog"
)

// TimeLeft is how far a running job's solve has come and how long it may
// take yet, from its progress (solverlog.Estimate): "80% · about 12s left
// (adaptive pass 4 of ~5)"; "" when the log says too little.
func TimeLeft(j engine.Job, now time.Time) string {
	if j.Status != engine.StatusRunning || len(j.Progress) == 0 {
		return ""
	}
	var p solverlog.Progress
	if json.Unmarshal(j.Progress, &p) != nil || p.Estimate == nil {
		return ""
	}
	e := p.Estimate
	of := fmt.Sprintf("%d of %d frequencies", e.Done, e.Total)
	if e.Of == "adaptive" {
		of = fmt.Sprintf("adaptive pass %d of ~%d", e.Done, e.Total)
	}
	left := "should end any moment"
	if d := e.End.Sub(now); d > time.Second {
		left = "about " + Duration(d.Round(time.Second)) + " left"
	}
	return fmt.Sprintf("%.0f%% · %s (%s)", e.Percent, left, of)
}
