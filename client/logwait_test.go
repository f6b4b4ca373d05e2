//go:build unix

package client_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/servertest"
)

// Log with Wait at the end of a running job's log answers with what the
// job writes next, and then, at its end, with nothing.
func TestLogWait(t *testing.T) {
	t.Parallel()
	// One live connection allowed: a Wait read of an ended job, which never
	// waits itself, is refused exactly while another Wait read waits.
	srv := servertest.Start(t, servertest.Options{Network: server.NetworkOptions{MaxStreams: 1}})
	c := newClient(t, srv.URL)
	ctx := t.Context()
	if _, err := c.Submit(ctx, srv.Command("done"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Manager.Wait(ctx, "done"); err != nil {
		t.Fatal(err)
	}
	waiting := func() {
		t.Helper()
		enginetest.WaitFor(t, "the Wait read waiting at the server", func() bool {
			_, err := c.Log(ctx, "done", client.LogOptions{Wait: time.Minute})
			var e *client.Error
			return errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests
		})
	}

	// A job whose output is what the test writes to a pipe.
	w := srv.FIFOJob(t, "pipe")

	type answer struct {
		l   client.Log
		err error
	}
	read := func(o client.LogOptions) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			l, err := c.Log(ctx, "pipe", o)
			ch <- answer{l, err}
		}()
		return ch
	}
	next := read(client.LogOptions{Wait: time.Minute})
	waiting()
	if _, err := w.WriteString("one\n"); err != nil {
		t.Fatal(err)
	}
	if a := <-next; a.err != nil || string(a.l.Text) != "one\n" || a.l.Next != 4 {
		t.Fatalf("after the job wrote: %q next %d, %v; want %q next 4", a.l.Text, a.l.Next, a.err, "one\n")
	}
	next = read(client.LogOptions{Offset: 4, Wait: time.Minute})
	waiting()
	w.Close()
	if a := <-next; a.err != nil || len(a.l.Text) != 0 || a.l.Next != 4 {
		t.Fatalf("after the job ended: %q next %d, %v; want nothing, next 4", a.l.Text, a.l.Next, a.err)
	}
	if j, err := srv.Manager.Job(ctx, "pipe"); err != nil || !j.Status.Terminal() {
		t.Errorf("answered while the job ran: %v %v", j.Status, err)
	}

	// The server checks the wait.
	if _, err := c.Log(ctx, "pipe", client.LogOptions{Wait: -time.Second}); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("a negative Wait: %v, want a bad request", err)
	}
}
