//go:build unix

package main

import (
	"bytes"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Limits changed at run time outlive a restart; the start-up flags set
// only the limits nobody changed, and the settings page says which is which.
func TestRunTimeLimitsSurviveRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := start(t, dir, "--max-concurrent", "1")
	req, _ := http.NewRequest(http.MethodPut, p.url+"/pool/limits", bytes.NewReader([]byte(`{"max_concurrent_jobs": 3}`)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /pool/limits: %d", resp.StatusCode)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit")
	}

	q := start(t, dir, "--max-concurrent", "1", "--min-disk-gb", "0.5")
	_, l := q.get(t, "/pool/limits")
	if l["max_concurrent_jobs"] != float64(3) {
		t.Errorf("max_concurrent_jobs after the restart = %v, want 3 (changed at run time)", l["max_concurrent_jobs"])
	}
	if l["min_disk_gb"] != 0.5 {
		t.Errorf("min_disk_gb after the restart = %v, want 0.5 (the flag)", l["min_disk_gb"])
	}
	page := q.page(t, "/ui/settings")
	for _, want := range []string{`id="origin-max_concurrent_jobs"`, "changed at run time", "--max-concurrent at start-up: 1", "from start-up: --min-disk-gb"} {
		if !strings.Contains(page, want) {
			t.Errorf("the settings page lacks %q", want)
		}
	}
}
