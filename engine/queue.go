package engine

import "container/heap"

// queue orders waiting jobs: higher priority first, then lower Seq (FIFO).
// It is not safe for concurrent use; the Manager guards it.
type queue struct {
	h      jobHeap
	byID   map[string]*queued
	counts map[int]int // waiting jobs per priority
}

type queued struct {
	id       string
	priority int
	seq      int64
	index    int
}

type jobHeap []*queued

func (h jobHeap) Len() int { return len(h) }
func (h jobHeap) Less(i, j int) bool {
	if h[i].priority != h[j].priority {
		return h[i].priority > h[j].priority
	}
	return h[i].seq < h[j].seq
}
func (h jobHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *jobHeap) Push(x any) {
	q := x.(*queued)
	q.index = len(*h)
	*h = append(*h, q)
}
func (h *jobHeap) Pop() any {
	old := *h
	n := len(old)
	q := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	q.index = -1
	return q
}

func newQueue() *queue {
	return &queue{byID: make(map[string]*queued), counts: make(map[int]int)}
}

func (q *queue) Len() int { return q.h.Len() }

// push adds a job; a job already queued is left where it is.
func (q *queue) push(id string, priority int, seq int64) {
	if _, ok := q.byID[id]; ok {
		return
	}
	e := &queued{id: id, priority: priority, seq: seq}
	heap.Push(&q.h, e)
	q.byID[id] = e
	q.counts[priority]++
}

// pop removes and returns the next job.
func (q *queue) pop() (id string, ok bool) {
	if q.h.Len() == 0 {
		return "", false
	}
	e := heap.Pop(&q.h).(*queued)
	q.forget(e)
	return e.id, true
}

// remove takes a job out of the queue, reporting whether it was there.
func (q *queue) remove(id string) bool {
	e, ok := q.byID[id]
	if !ok {
		return false
	}
	heap.Remove(&q.h, e.index)
	q.forget(e)
	return true
}

func (q *queue) forget(e *queued) {
	delete(q.byID, e.id)
	q.counts[e.priority]--
	if q.counts[e.priority] == 0 {
		delete(q.counts, e.priority)
	}
}

// setPriority moves a queued job; it keeps its Seq, so among equal
// priorities it keeps its submission place.
func (q *queue) setPriority(id string, priority int) bool {
	e, ok := q.byID[id]
	if !ok {
		return false
	}
	q.counts[e.priority]--
	if q.counts[e.priority] == 0 {
		delete(q.counts, e.priority)
	}
	e.priority = priority
	q.counts[priority]++
	heap.Fix(&q.h, e.index)
	return true
}

// position is the 1-based place of a queued job: how many would start
// before it, plus one. It scans the queue; see arrival for the cheap form.
func (q *queue) position(id string) int {
	e, ok := q.byID[id]
	if !ok {
		return 0
	}
	pos := 1
	for _, o := range q.h {
		if o.priority > e.priority || (o.priority == e.priority && o.seq < e.seq) {
			pos++
		}
	}
	return pos
}

// arrival is the place of a job just queued, in one step per distinct
// priority: it assumes every waiting job of its priority is ahead of it,
// which holds but for the few submitted at the same instant (their order is
// the store's commit order, and they may be queued in another).
func (q *queue) arrival(id string) int {
	e, ok := q.byID[id]
	if !ok {
		return 0
	}
	pos := 0
	for p, n := range q.counts {
		if p >= e.priority {
			pos += n
		}
	}
	return pos
}

// byPriority returns how many jobs wait at each priority.
func (q *queue) byPriority() map[int]int {
	out := make(map[int]int, len(q.counts))
	for p, n := range q.counts {
		out[p] = n
	}
	return out
}
