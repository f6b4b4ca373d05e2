package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// binary is simjobs built once for the process-level tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "simjobs-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "simjobs")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build simjobs: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	done chan error
	logs *syncBuffer
}

// syncBuffer collects the server's log while the test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// start runs `simjobs serve` and waits until it listens.
func start(t *testing.T, dataDir string, args ...string) *proc {
	t.Helper()
	// --scheduler none: these tests are about local jobs, and a host
	// with a scheduler on PATH would otherwise hand the jobs to it.
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--kill-grace", "1s", "--scheduler", "none"}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Dir = dataDir
	stdout, _ := cmd.StdoutPipe()
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), logs: logs}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("server exited: %s", logs)
		}
		m := listening.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected first line %q", l)
		}
		p.url = m[1]
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start: %s", logs)
	}
	go func() {
		for range lines {
		}
	}()
	return p
}

func (p *proc) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(p.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (p *proc) get(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func (p *proc) waitStatus(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, j := p.get(t, "/jobs/"+id)
		if j["status"] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %v, want %s", id, j["status"], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sleeper(id, secs string) map[string]any {
	return map[string]any{"config": map[string]any{"jobid": id, "command": []string{"env", "FAKE_SOLVER_SLEEP=" + secs, fakesolver.Path()}}}
}

// SIGTERM drains: running jobs finish, submissions are still accepted,
// nothing new starts, the process exits 0, and the queue survives.
func TestSIGTERMDrainsThenRestartKeepsQueue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	allow := "--allow-exec=env," + fakesolver.Path()
	p := start(t, dir, allow, "--max-concurrent", "1")
	if code, r := p.post(t, "/jobs/submit", sleeper("a", "1.5")); code != 200 {
		t.Fatalf("submit a: %d %v", code, r)
	}
	p.post(t, "/jobs/submit", sleeper("b", "0"))
	p.waitStatus(t, "a", "running")

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := p.get(t, "/readyz")
		if code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz never reported the drain")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, r := p.post(t, "/jobs/submit", sleeper("c", "0")); code != 200 {
		t.Fatalf("submission during the drain: %d %v", code, r)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after the drain")
	}

	q := start(t, dir, allow, "--max-concurrent", "1")
	_, a := q.get(t, "/jobs/a")
	if a["status"] != "completed" {
		t.Errorf("a after the drain: %v (%v)", a["status"], a["error"])
	}
	q.waitStatus(t, "b", "completed")
	q.waitStatus(t, "c", "completed")
}

// A drain that times out stops the jobs still running and records why.
func TestDrainTimeoutInterruptsJobs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := start(t, dir, "--allow-exec=env,"+fakesolver.Path(), "--drain-timeout", "200ms")
	p.post(t, "/jobs/submit", sleeper("long", "60"))
	p.waitStatus(t, "long", "running")
	if code, _ := p.post(t, "/system/drain", nil); code != 202 {
		t.Fatalf("drain: %d", code)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit")
	}
	q := start(t, dir)
	_, j := q.get(t, "/jobs/long")
	if j["status"] != "failed" || !strings.Contains(fmt.Sprint(j["error"]), "shut down") {
		t.Fatalf("long: %v %v", j["status"], j["error"])
	}
}
