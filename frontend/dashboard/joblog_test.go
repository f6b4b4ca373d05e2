package dashboard_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// A job page gets new log output when the engine says the log grew, not
// on a clock of its own: here that clock would tick once an hour.
func TestLiveJobLogComesWhenTheLogGrows(t *testing.T) {
	t.Parallel()
	h := start(t, opts{tailEvery: time.Hour})
	h.command("quiet_1", "", "sleep", "60")
	h.waitStatus("quiet_1", engine.StatusRunning)
	p, body := h.open(t, "/ui/jobs/quiet_1")
	path, err := h.m.LogPath("quiet_1", 1, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	var size int
	appendTo := func(text string) string {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(text); err != nil {
			t.Fatal(err)
		}
		size += len(text)
		return `data-offset="` + strconv.Itoa(size) + `"`
	}
	got := p.until("first words: Grüße", appendTo("first words: Grüße\n"))
	// A character cut by a write comes whole with the next message.
	appendTo("then € \xe2\x82")
	p.until("then €", `data-offset="`+strconv.Itoa(size-2)+`"`)
	got += p.until("\u20ac done", appendTo("\xac done\n"))
	if strings.Count(body+got, "first words") != 1 {
		t.Errorf("a line shows more than once: %s", got)
	}
	if _, err := h.m.Cancel(context.Background(), "quiet_1", "test"); err != nil {
		t.Fatal(err)
	}
	p.until("end of log: cancelled")
}
