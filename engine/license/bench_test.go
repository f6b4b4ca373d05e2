package license

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/hfss"
)

// BenchmarkHold is the gate's cost per held job, which the manager pays
// for every queued job each time it looks for one to start (under its
// lock): a queue of 1000 HFSS jobs short of seats. Compare with
// BenchmarkNeeds, the decode the cache spares.
func BenchmarkHold(b *testing.B) {
	m, err := New(Options{Servers: []string{"1055@licsrv"}})
	if err != nil {
		b.Fatal(err)
	}
	m.polled, m.sampledAt = true, time.Now()
	m.servers[0].status = Status{Up: true, Features: []Feature{
		{Name: "electronics_desktop", Total: 10, InUse: 10}, {Name: "elec_solve_hfss", Total: 10, InUse: 2}, {Name: "anshpc", Total: 64, InUse: 60},
	}}
	m.feats = m.sumFeaturesLocked()
	cfg, _ := json.Marshal(hfss.Default())
	jobs := make([]engine.GateJob, 1000)
	for i := range jobs {
		jobs[i] = engine.GateJob{ID: "job" + strconv.Itoa(i), Attempt: 1, Kind: engine.KindHFSS, Config: cfg}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m.Hold(jobs[i%len(jobs)]) == "" {
			b.Fatal("not held")
		}
	}
}

func BenchmarkNeeds(b *testing.B) {
	m := DefaultMap()
	cfg, _ := json.Marshal(hfss.Default())
	j := engine.GateJob{ID: "j", Attempt: 1, Kind: engine.KindHFSS, Config: cfg}
	for i := 0; i < b.N; i++ {
		if len(m.Needs(j)) == 0 {
			b.Fatal("no needs")
		}
	}
}
