package engine

import (
	"slices"
	"sort"
)

// positions is the 1-based queue place of each of ids that is queued (see
// position), in one pass over the queue for them all: a page of jobs costs
// one scan, not one per job.
func (q *queue) positions(ids []string) map[string]int {
	var want []*queued
	for _, id := range ids {
		if e, ok := q.byID[id]; ok {
			want = append(want, e)
		}
	}
	if len(want) == 0 {
		return nil
	}
	ahead := func(a, b *queued) bool { // a starts before b
		return a.priority > b.priority || (a.priority == b.priority && a.seq < b.seq)
	}
	slices.SortFunc(want, func(a, b *queued) int {
		switch {
		case ahead(a, b):
			return -1
		case ahead(b, a):
			return 1
		}
		return 0
	})
	// Each queued job is ahead of the wanted ones from the first it is
	// ahead of on; count it there and sum.
	from := make([]int, len(want)+1)
	for _, o := range q.h {
		from[sort.Search(len(want), func(i int) bool { return ahead(o, want[i]) })]++
	}
	out := make(map[string]int, len(want))
	n := 0
	for i, e := range want {
		n += from[i]
		out[e.id] = n + 1
	}
	return out
}

// fillPositionsLocked sets the queue place of the jobs queued here.
func (m *Manager) fillPositionsLocked(jobs []Job) {
	var ids []string
	for _, j := range jobs {
		if j.Status == StatusQueued {
			ids = append(ids, j.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	pos := m.queue.positions(ids)
	for i := range jobs {
		if jobs[i].Status == StatusQueued {
			jobs[i].QueuePosition = pos[jobs[i].ID]
		}
	}
}
