//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/notify"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

type hook struct {
	delivery, signature string
	body                []byte
}

// A job's end is owed to its webhook even when the server dies (kill -9)
// while delivering it: the restarted server (the reaper restarts it)
// delivers it again, with the same delivery id and signature.
func TestWebhookDeliveredAcrossKill9(t *testing.T) {
	t.Parallel()
	hooks := make(chan hook, 8)
	var held atomic.Bool
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hooks <- hook{r.Header.Get("X-Simjobs-Delivery"), r.Header.Get("X-Simjobs-Signature"), body}
		if held.CompareAndSwap(false, true) {
			// Hold the first delivery until the server is killed: its
			// connection then goes away.
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	dir := t.TempDir()
	p := start(t, dir, "--allow-exec=env,"+fakesolver.Path(), "--webhook-allow", "127.0.0.1", "--webhook-secret", "s3cret", "--public-url", "https://simjobs.example")

	// SSRF through a job body is a 400 naming the field.
	bad := sleeper("bad", "0")
	bad["notify"] = map[string]any{"webhook": "http://169.254.169.254/latest/meta-data/"}
	if code, r := p.post(t, "/jobs/submit", bad); code != 400 || !strings.Contains(fmt.Sprint(r["error"]), "notify.webhook") {
		t.Fatalf("link-local webhook: %d %v, want a 400 naming notify.webhook", code, r)
	}

	job := sleeper("told", "0")
	job["notify"] = map[string]any{"webhook": rcv.URL + "/simjobs", "on": []string{"completed"}}
	if code, r := p.post(t, "/jobs/submit", job); code != 200 {
		t.Fatalf("submit: %d %v", code, r)
	}
	var h1 hook
	select {
	case h1 = <-hooks:
	case <-time.After(30 * time.Second):
		t.Fatalf("no webhook: %s", p.logs)
	}
	_, st := p.get(t, "/system/status")
	pid, ok := st["pid"].(float64)
	if !ok || int(pid) == p.cmd.Process.Pid {
		t.Fatalf("server pid %v (reaper %d)", st["pid"], p.cmd.Process.Pid)
	}
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case p.url = <-p.urls:
	case <-time.After(30 * time.Second):
		t.Fatalf("the server was not restarted: %s", p.logs)
	}
	var h2 hook
	select {
	case h2 = <-hooks:
	case <-time.After(30 * time.Second):
		t.Fatalf("the webhook was not delivered after the restart: %s", p.logs)
	}
	if h1.delivery == "" || h2.delivery != h1.delivery || string(h2.body) != string(h1.body) {
		t.Errorf("redelivery %q (%d bytes), want the same delivery %q and body", h2.delivery, len(h2.body), h1.delivery)
	}
	for _, h := range []hook{h1, h2} {
		if !notify.Verify("s3cret", h.body, h.signature) {
			t.Errorf("signature %q does not verify", h.signature)
		}
	}
	var body struct {
		Text, Event, URL string
		Job              struct{ ID, Status string }
	}
	if err := json.Unmarshal(h1.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Event != "completed" || body.Job.ID != "told" || body.Job.Status != "completed" ||
		body.URL != "https://simjobs.example/ui/jobs/told" || !strings.Contains(body.Text, "told completed") {
		t.Errorf("body %s", h1.body)
	}

	// The history shows the delivery as delivered.
	enginetest.WaitForNil(t, func() error {
		_, hist := p.get(t, "/jobs/told/history")
		ds, _ := hist["deliveries"].([]any)
		if len(ds) != 1 || ds[0].(map[string]any)["status"] != "delivered" {
			return fmt.Errorf("history deliveries %v, want one delivered", hist["deliveries"])
		}
		if d := ds[0].(map[string]any); d["id"] != h1.delivery || d["channel"] != "webhook" || d["last_code"] != float64(204) {
			t.Errorf("history delivery %v", d)
		}
		return nil
	})
	// And `simjobs status`.
	res := cliRun{t: t, env: map[string]string{"SIMJOBS_SERVER": p.url}}.run("status", "told")
	if res.code != 0 || !strings.Contains(res.stdout, "notifications:") || !strings.Contains(res.stdout, "completed  webhook http://") || !strings.Contains(res.stdout, "delivered") {
		t.Errorf("status: %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	// And so does the job page.
	resp, err := http.Get(p.url + "/ui/jobs/told")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Notifications", `id="delivery-` + h1.delivery + `" data-status="delivered"`, "webhook: http://" + strings.TrimPrefix(rcv.URL, "http://") + "/…"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("job page lacks %q", want)
		}
	}
}
