//go:build unix

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
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/enginetest"
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
	done chan error // gets the exit once; exited is closed then
	logs *syncBuffer
	// urls gets the address of every server start after the first (the
	// reaper restarts a server that died).
	urls   chan string
	exited chan struct{}
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

var listening = regexp.MustCompile(`listening on (https?://\S+)`)

// start runs `simjobs serve` and waits until it listens.
func start(t *testing.T, dataDir string, args ...string) *proc {
	t.Helper()
	return startEnv(t, dataDir, nil, args...)
}

// startEnv is start with more environment variables (NAME=value; a later
// one wins) for the server.
func startEnv(t *testing.T, dataDir string, env []string, args ...string) *proc {
	t.Helper()
	// The host may be busy (CI, parallel tests): the resource gates are
	// tested in the engine; here they must not hold jobs back.
	// --scheduler none: these tests are about local jobs, and a host
	// with a scheduler on PATH would otherwise hand the jobs to it.
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--kill-grace", "1s", "--max-cpu-percent", "100", "--min-memory-gb", "0", "--min-disk-gb", "0", "--scheduler", "none"}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Dir = dataDir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	stdout, _ := cmd.StdoutPipe()
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), logs: logs, urls: make(chan string, 4), exited: make(chan struct{})}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				if n == 0 {
					first <- m[1]
				} else {
					p.urls <- m[1]
				}
				n++
			}
		}
		close(first)
	}()
	go func() {
		p.done <- cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		// SIGKILL to the reaper: its server follows (parent-death signal).
		cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("simjobs did not exit")
		}
	})
	select {
	case u, ok := <-first:
		if !ok {
			t.Fatalf("server exited: %s", logs)
		}
		p.url = u
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start: %s", logs)
	}
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
	enginetest.WaitForNil(t, func() error {
		if _, j := p.get(t, "/jobs/"+id); j["status"] != want {
			return fmt.Errorf("job %s is %v, want %s", id, j["status"], want)
		}
		return nil
	})
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
	enginetest.WaitFor(t, "readyz to report the drain", func() bool {
		code, _ := p.get(t, "/readyz")
		return code == 503
	})
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

// A server that dies (kill -9) is restarted by the reaper, and a job that
// was running ends with its real exit code: the reaper inherited the orphan
// and recorded it. The job is not started again.
func TestCrashedServerRestartsAndJobKeepsExitCode(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reaper needs Linux (a child subreaper)")
	}
	t.Parallel()
	dir := t.TempDir()
	record := filepath.Join(dir, "record.txt")
	p := start(t, dir, "--allow-exec=env,"+fakesolver.Path())
	job := map[string]any{"config": map[string]any{"jobid": "survivor", "command": []string{"env", "FAKE_SOLVER_SLEEP=2", "FAKE_SOLVER_EXIT=3", "FAKE_SOLVER_RECORD=" + record, fakesolver.Path()}}}
	if code, r := p.post(t, "/jobs/submit", job); code != 200 {
		t.Fatalf("submit: %d %v", code, r)
	}
	p.waitStatus(t, "survivor", "running")
	// "running" is recorded before the process starts: wait for the solver
	// itself, or the kill may come before there is anything to adopt.
	enginetest.WaitFor(t, "the solver to start", func() bool {
		runs, _ := fakesolver.ReadRecord(record)
		return len(runs) == 1
	})
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
	p.waitStatus(t, "survivor", "failed")
	_, j := p.get(t, "/jobs/survivor")
	if rc, _ := j["return_code"].(float64); j["return_code"] == nil || rc != 3 {
		t.Fatalf("return code %v (error %v), want the real exit code 3\n%s", j["return_code"], j["error"], p.logs)
	}
	runs, err := fakesolver.ReadRecord(record)
	if err != nil || len(runs) != 1 {
		t.Fatalf("the job ran %d times (%v)", len(runs), err)
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
		t.Fatal("no exit after SIGTERM")
	}
}
