package engine

import (
	"sync"

	"github.com/simjobs/simjobs/engine/host"
)

// ResourcesUpdatedData is the data of resources_updated: the host sample
// just taken. Its JSON is {"telemetry": {...}}, as the event always carried.
type ResourcesUpdatedData struct {
	Telemetry host.Sample `json:"telemetry"`
}

// SampleSubscriber is a Telemetry that announces its samples (host.Sampler
// does). When Options.Telemetry is one, the engine follows it: each sample
// is published as resources_updated and wakes the dispatcher, since waiting
// jobs may fit now.
type SampleSubscriber interface {
	Telemetry
	Subscribe() (<-chan host.Sample, func())
}

// telemetryFollower turns host samples into resources_updated events and
// dispatcher wake-ups. It holds only its subscription; newTelemetryFollower
// subscribes, start runs it on the manager's WaitGroup, shutdown ends it.
type telemetryFollower struct {
	samples <-chan host.Sample
	cancel  func()
	publish func(ResourcesUpdatedData)
	kick    func()
	stop    chan struct{}
	once    sync.Once
}

// telemetryParams are what the follower needs of the manager.
type telemetryParams struct {
	source  SampleSubscriber
	publish func(ResourcesUpdatedData)
	kick    func()
}

// newTelemetryFollower subscribes at once, so no sample taken after New
// returns goes unannounced.
func newTelemetryFollower(p telemetryParams) *telemetryFollower {
	ch, cancel := p.source.Subscribe()
	return &telemetryFollower{samples: ch, cancel: cancel, publish: p.publish, kick: p.kick, stop: make(chan struct{})}
}

func (t *telemetryFollower) start(wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer t.cancel()
		for {
			select {
			case <-t.stop:
				return
			case s := <-t.samples:
				t.publish(ResourcesUpdatedData{Telemetry: s})
				t.kick()
			}
		}
	}()
}

func (t *telemetryFollower) shutdown() { t.once.Do(func() { close(t.stop) }) }
