package main

import (
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/notify"
	"github.com/simjobs/simjobs/server/servertest"
)

// submit's --notify-* flags become the body's notify object, which the
// server checks and stores with the job.
func TestCLISubmitNotify(t *testing.T) {
	t.Parallel()
	allow, _ := notify.ParseAllowList("")
	srv := servertest.Start(t, servertest.Options{Notify: notify.Checker{Allow: allow}})
	r := cliRun{t: t, env: map[string]string{"SIMJOBS_SERVER": srv.URL}}
	res := r.run("submit", "--project", srv.Project, "--jobid", "n1", "--notify-webhook", "https://hooks.example.com/x", "--notify-email", "me", "--notify-on", "started,failed")
	if res.code != 0 {
		t.Fatalf("submit: %d %s %s", res.code, res.stdout, res.stderr)
	}
	m := srv.Manager
	if _, err := m.Job(t.Context(), "n1"); err != nil {
		t.Fatal(err)
	}
	res = r.run("submit", "--project", srv.Project, "--jobid", "n2", "--notify-webhook", "http://169.254.169.254/")
	if res.code == 0 || !strings.Contains(res.stderr, "notify.webhook") {
		t.Errorf("a link-local webhook: %d %q, want an error naming notify.webhook", res.code, res.stderr)
	}
	res = r.run("submit", "--project", srv.Project, "--jobid", "n3", "--notify-email", "me", "--notify-on", "done")
	if res.code == 0 || !strings.Contains(res.stderr, "notify.on") {
		t.Errorf("a bad event: %d %q, want an error naming notify.on", res.code, res.stderr)
	}
	if _, err := m.Job(t.Context(), "n2"); err == nil {
		t.Error("the refused job was stored")
	}
}
