//go:build unix

package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/servertest"
)

// log -f waits at the server for the job's output (no clock of its own):
// each line shows once the job writes it, and the command ends with the
// job, with its exit.
func TestCLILogFollowWaitsAtTheServer(t *testing.T) {
	t.Parallel()
	// One live connection allowed: a waiting read of an ended job, which
	// never waits itself, is refused exactly while log -f waits.
	srv := servertest.Start(t, servertest.Options{Network: server.NetworkOptions{MaxStreams: 1}})
	api, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := api.Submit(ctx, srv.Command("done"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Manager.Wait(ctx, "done"); err != nil {
		t.Fatal(err)
	}
	waiting := func() {
		t.Helper()
		enginetest.WaitFor(t, "log -f waiting at the server", func() bool {
			_, err := api.Log(ctx, "done", client.LogOptions{Wait: logWait})
			var e *client.Error
			return errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests
		})
	}

	w := srv.FIFOJob(t, "piped", "FAKE_SOLVER_EXIT=3")

	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	runCtx, cancel := context.WithTimeout(ctx, enginetest.Timeout())
	defer cancel()
	go func() {
		env := func(k string) (string, bool) {
			if k == "SIMJOBS_SERVER" {
				return srv.URL, true
			}
			return "", false
		}
		code <- run(runCtx, []string{"log", "-f", "piped"}, env, strings.NewReader(""), &stdout, &stderr)
	}()

	for _, line := range []string{"first line\n", "second line\n"} {
		waiting()
		before := stdout.String()
		if _, err := w.WriteString(line); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, "log -f to print "+strings.TrimSpace(line), func() bool { return stdout.String() == before+line })
	}
	waiting()
	select {
	case c := <-code:
		t.Fatalf("log -f ended (exit %d) while the job ran; stderr:\n%s", c, stderr.String())
	default:
	}
	w.Close() // the job ends
	if c := <-code; c != exitJobFailed {
		t.Errorf("log -f: exit %d, want %d (the job's exit 3); stderr:\n%s", c, exitJobFailed, stderr.String())
	}
	if got, want := stdout.String(), "first line\nsecond line\n"; got != want {
		t.Errorf("log -f printed %q, want %q", got, want)
	}
}
