package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// idle are the limits of the latency scenarios: every gate open, so that a
// job starts as soon as it is queued.
var idle = engine.Limits{MaxConcurrentJobs: 4, MaxCPUPercent: 100, MinMemoryGB: 0, MinDiskGB: 0}

// startLatency measures submit→running on an idle server, one job at a time,
// from the acknowledgement of the submission to the job_started event (the
// issue's measure), and from the moment the POST is sent (which adds the
// durable insert: one fsync). The baseline is a bare exec.Cmd.Start of the
// same solver, the floor under any start.
func startLatency(cfg config) ([]row, error) {
	const n = 200
	s, err := newStack(cfg, idle, 0)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	client := &http.Client{Timeout: 10 * time.Second}
	lats, posts := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		fromAck, fromPost, err := submitToRunning(s, client, fmt.Sprintf("lat%d", i))
		if err != nil {
			return nil, err
		}
		lats, posts = append(lats, fromAck), append(posts, fromPost)
	}
	execs := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		c := exec.Command(noop)
		t0 := time.Now()
		if err := c.Start(); err != nil {
			return nil, err
		}
		execs = append(execs, time.Since(t0))
		c.Wait()
	}
	p50, p99 := ms(quantile(lats, 0.5)), ms(quantile(lats, 0.99))
	e50, e99 := ms(quantile(execs, 0.5)), ms(quantile(execs, 0.99))
	note := "bare exec.Cmd.Start of " + noop
	return []row{
		{name: fmt.Sprintf("submit→running p50, idle server (%d jobs one at a time; acknowledgement to job_started)", n), ours: p50, base: e50, unit: " ms", baseNote: note},
		{name: "submit→running p99, idle server", ours: p99, base: e99, unit: " ms", baseNote: note, target: "< 3 ms", met: p99 < 3},
		{name: "submit→running p50 from the POST sent (adds the durable insert and the reply)", ours: ms(quantile(posts, 0.5)), unit: " ms"},
		{name: "submit→running p99 from the POST sent", ours: ms(quantile(posts, 0.99)), unit: " ms"},
	}, nil
}

// firstJobLatency measures submit→running of the first job after start,
// on five fresh servers, and reports the worst.
func firstJobLatency(cfg config) ([]row, error) {
	const servers = 5
	var worst time.Duration
	for i := 0; i < servers; i++ {
		s, err := newStack(cfg, idle, 0)
		if err != nil {
			return nil, err
		}
		d, _, err := submitToRunning(s, &http.Client{Timeout: 10 * time.Second}, "first")
		s.stop()
		if err != nil {
			return nil, err
		}
		worst = max(worst, d)
	}
	w := ms(worst)
	return []row{{name: fmt.Sprintf("submit→running of the first job after start (worst of %d fresh servers)", servers), ours: w, unit: " ms", target: "< 3 ms", met: w < 3}}, nil
}

// submitToRunning posts one no-op job and returns the time to its
// job_started event from the acknowledgement and from sending the request;
// it waits for the job's clean end.
func submitToRunning(s *stack, client *http.Client, id string) (fromAck, fromPost time.Duration, err error) {
	sub := s.m.Events().Subscribe(-1, 64)
	defer sub.Close()
	body, _ := json.Marshal(map[string]any{"config": engine.CommandConfig{Command: []string{noop}, JobID: id}})
	t0 := time.Now()
	resp, err := client.Post(s.url+"/jobs/submit", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	acked := time.Now()
	if resp.StatusCode != 200 {
		return 0, 0, fmt.Errorf("submit %s: status %d", id, resp.StatusCode)
	}
	// The events are read only after the reply: a job that started before
	// the reply arrived counts from the reply (the wait a client sees).
	// job_started and job_completed of a short job can arrive in either
	// order (they are published by different goroutines).
	var lat time.Duration
	var ended *engine.JobEndedData
	for ev := range sub.C {
		switch ev.Name {
		case engine.EventJobStarted:
			if lat == 0 {
				now := time.Now()
				lat, fromAck = now.Sub(t0), now.Sub(acked)
			}
		case engine.EventJobCompleted:
			d := ev.Data.(engine.JobEndedData)
			if d.Status != engine.StatusCompleted {
				return 0, 0, fmt.Errorf("job %s ended %s: %s", d.JobID, d.Status, d.Error)
			}
			ended = &d
		}
		if lat != 0 && ended != nil {
			return fromAck, lat, nil
		}
	}
	return 0, 0, fmt.Errorf("job %s: event stream closed", id)
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0 // nothing measured (e.g. -scale-requests 0): no figure, not a panic
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}
