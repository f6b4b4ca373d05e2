package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQueueOrder(t *testing.T) {
	t.Parallel()
	q := newQueue()
	for i, p := range []int{0, 5, -1, 5, 0, 10} {
		q.push(string(rune('a'+i)), p, int64(i+1))
	}
	if got := q.position("e"); got != 5 {
		t.Errorf("position(e) = %d, want 5 (f, b, d, a before it)", got)
	}
	if got := q.arrival("f"); got != 1 {
		t.Errorf("arrival(f) = %d, want 1", got)
	}
	q.setPriority("c", 7) // c jumps ahead of b and d, keeps its seq
	q.remove("a")
	q.push("b", 99, 100) // already queued: ignored
	var got []string
	for q.Len() > 0 {
		id, _ := q.pop()
		got = append(got, id)
	}
	want := []string{"f", "c", "b", "d", "e"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pop order (-want +got):\n%s", diff)
	}
	if len(q.counts) != 0 || len(q.byID) != 0 {
		t.Errorf("empty queue keeps state: %v %v", q.counts, q.byID)
	}
}
