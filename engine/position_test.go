package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// positions agrees with position, job by job, whatever the priorities.
func TestQueuePositions(t *testing.T) {
	t.Parallel()
	q := newQueue()
	var ids []string
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		id := fmt.Sprintf("j%d", i)
		q.push(id, r.IntN(5)-2, int64(i+1))
		ids = append(ids, id)
	}
	pick := []string{"j0", "j7", "j150", "j299", "nope"}
	for range 20 {
		pick = append(pick, ids[r.IntN(len(ids))])
	}
	got := q.positions(pick)
	for _, id := range pick {
		if want := q.position(id); got[id] != want {
			t.Errorf("%s: positions %d, position %d", id, got[id], want)
		}
	}
	if _, ok := got["nope"]; ok {
		t.Error("a job not queued has a place")
	}
}
