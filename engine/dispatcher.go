package engine

import "sync"

// dispatcher is the one loop that starts queued jobs. It sleeps until
// kicked (a submission, a job's end, a limit change, a host sample), then
// starts jobs while the queue, the limits and the gates admit them, each on
// its own goroutine. It holds only its wake-up channel: what to start is the
// manager's to say (next), since the queue, the slots and the gates are
// judged together under the manager's lock.
//
// newDispatcher makes it, start runs the loop on the caller's WaitGroup,
// shutdown ends the loop (the starts under way finish on that WaitGroup).
type dispatcher struct {
	wake chan struct{} // buffered: one pending wake-up is enough
	stop chan struct{}
	once sync.Once
	next func() *activeJob
	run  func(*activeJob)
}

// dispatcherParams are what the dispatcher needs of the manager.
type dispatcherParams struct {
	// next takes the next job to start, holding its slot; nil when none
	// may start now.
	next func() *activeJob
	// run starts a job taken by next; it runs on its own goroutine.
	run func(*activeJob)
}

func newDispatcher(p dispatcherParams) *dispatcher {
	return &dispatcher{wake: make(chan struct{}, 1), stop: make(chan struct{}), next: p.next, run: p.run}
}

func (d *dispatcher) start(wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-d.stop:
				return
			case <-d.wake:
			}
			for {
				a := d.next()
				if a == nil {
					break
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.run(a)
				}()
			}
		}
	}()
}

// kick wakes the loop; it never blocks.
func (d *dispatcher) kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) shutdown() { d.once.Do(func() { close(d.stop) }) }
