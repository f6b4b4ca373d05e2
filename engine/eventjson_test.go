package engine

import (
	"encoding/json"
	"sync"
	"testing"
)

// DataJSON is what each Socket.IO session sends: the same bytes as
// marshalling Data, encoded once however many goroutines ask.
func TestEventDataJSONEncodedOnce(t *testing.T) {
	b := NewBus(4)
	ev := b.Publish(EventJobQueued, JobQueuedData{JobID: "j1", Attempt: 1})
	want, err := json.Marshal(ev.Data)
	if err != nil {
		t.Fatal(err)
	}
	got := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = ev.DataJSON()
		}()
	}
	wg.Wait()
	for i, g := range got {
		if string(g) != string(want) {
			t.Fatalf("DataJSON #%d = %s, want %s", i, g, want)
		}
		if &g[0] != &got[0][0] {
			t.Fatalf("DataJSON #%d was encoded again", i)
		}
	}
	// An event built outside the bus (no cache) still encodes, and data
	// that cannot be encoded is null rather than an empty message.
	if g := (Event{Data: map[string]int{"a": 1}}).DataJSON(); string(g) != `{"a":1}` {
		t.Fatalf("uncached DataJSON = %s", g)
	}
	if g := (Event{Data: func() {}}).DataJSON(); string(g) != "null" {
		t.Fatalf("unencodable DataJSON = %s, want null", g)
	}
}
