//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// crashClient submits jobs at full speed to whichever server is current,
// keeping the ids the server acknowledged (200).
type crashClient struct {
	url    atomic.Pointer[string]
	ledger string
	http   *http.Client

	mu    sync.Mutex
	acked []string
	n     atomic.Int64
}

func (c *crashClient) setURL(u string) { c.url.Store(&u) }

// burst submits n jobs, as fast as the server answers (errors while the
// server is down are expected: those jobs were not acknowledged).
func (c *crashClient) burst(prefix string, n int) {
	for range n {
		id := fmt.Sprintf("%s-%d", prefix, c.n.Add(1))
		body, _ := json.Marshal(map[string]any{"config": map[string]any{"jobid": id,
			"command": []string{"env", "FAKE_SOLVER_RECORD=" + c.ledger, "FAKE_SOLVER_SLEEP=0.0" + strconv.Itoa(rand.IntN(10)), fakesolver.Path(), "--job", id}}})
		resp, err := c.http.Post(*c.url.Load()+"/jobs/submit", "application/json", bytes.NewReader(body))
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			c.mu.Lock()
			c.acked = append(c.acked, id)
			c.mu.Unlock()
		}
	}
}

// waitUnlocked waits until no process holds the data dir (a server told
// to stop by its dead reaper is draining).
func waitUnlocked(t *testing.T, dir string) {
	t.Helper()
	until(t, "the data dir to be free", func() bool {
		l, err := store.LockDir(dir)
		if err != nil {
			return false
		}
		l.Release()
		return true
	})
}

// The crash test: 20 kill -9 of the server (the reaper restarts it) and,
// separately, 20 of the reaper (its server drains and stops; a new one
// starts), at random moments while a client submits at full speed and the
// fake solver writes a ledger of every start. Then: every acknowledged job
// is there, none started twice, none is stuck.
func TestCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("40 crashes")
	}
	dir := t.TempDir()
	c := &crashClient{ledger: filepath.Join(t.TempDir(), "ledger.txt"), http: &http.Client{Timeout: 10 * time.Second}}
	args := []string{"--allow-exec=env," + fakesolver.Path(), "--max-concurrent", "4", "--drain-timeout", "500ms"}
	t0 := time.Now()
	const cycles = 20
	kill := func() { time.Sleep(time.Duration(20+rand.IntN(300)) * time.Millisecond) }

	// The server dies; the reaper restarts it (a fresh reaper every four
	// crashes, under its limit of crashes in a row).
	var p *proc
	for i := range cycles {
		if i%4 == 0 {
			if p != nil {
				p.cmd.Process.Signal(syscall.SIGTERM)
				<-p.exited
			}
			p = start(t, dir, args...)
			c.setURL(p.url)
		}
		_, st := p.get(t, "/system/status")
		pid, ok := st["pid"].(float64)
		if !ok || int(pid) == p.cmd.Process.Pid {
			t.Fatalf("server pid %v", st["pid"])
		}
		done := make(chan struct{})
		go func() { defer close(done); c.burst("s", 60) }()
		kill()
		if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		select {
		case u := <-p.urls:
			p.url = u
			c.setURL(u)
		case <-time.After(30 * time.Second):
			t.Fatalf("cycle %d: the server was not restarted: %s", i, p.logs)
		}
		<-done
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
	t.Logf("server crashes: %v", time.Since(t0).Round(time.Millisecond))

	// The reaper dies; its server drains and stops; a new one starts.
	t1 := time.Now()
	for range cycles {
		waitUnlocked(t, dir)
		p = start(t, dir, args...)
		c.setURL(p.url)
		done := make(chan struct{})
		go func() { defer close(done); c.burst("r", 60) }()
		kill()
		p.cmd.Process.Kill()
		<-p.exited
		<-done
	}
	t.Logf("reaper crashes: %v", time.Since(t1).Round(time.Millisecond))

	waitUnlocked(t, dir)
	p = start(t, dir, args...)
	until(t, "every job to end", func() bool {
		resp, err := http.Get(p.url + "/jobs?status=pending,queued,scheduled,running&limit=1")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.Header.Get("X-Total-Count") == "0"
	})
	resp, err := http.Get(p.url + "/jobs?limit=10000")
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	for _, j := range list {
		stored[j.ID] = j.Status
	}
	for _, id := range c.acked {
		if _, ok := stored[id]; !ok {
			t.Errorf("acknowledged job %s is lost", id)
		}
	}
	runs, err := fakesolver.ReadRecord(c.ledger)
	if err != nil {
		t.Fatal(err)
	}
	starts := map[string]int{}
	for _, r := range runs {
		if len(r.Args) == 2 && r.Args[0] == "--job" {
			starts[r.Args[1]]++
		}
	}
	for id, n := range starts {
		if n > 1 {
			t.Errorf("job %s started %d times", id, n)
		}
	}
	byStatus := map[string]int{}
	for _, st := range stored {
		byStatus[st]++
	}
	t.Logf("%d submissions acknowledged, %d jobs stored %v, %d solver starts; total %v", len(c.acked), len(stored), byStatus, len(runs), time.Since(t0).Round(time.Millisecond))
}
