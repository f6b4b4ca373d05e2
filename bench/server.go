package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A serverProc is the real simjobs binary serving on loopback, as a user runs
// it: its start-up, memory and latency are the process's own, not shared
// with the load tool.
type serverProc struct {
	url     string
	cmd     *exec.Cmd
	started time.Time     // when the process was started
	ready   time.Duration // from start to the first /readyz 200
	done    chan error
	stderr  *tail
}

// simjobsBinary builds the binary as it ships (static, CGO_ENABLED=0),
// once per run, into one place under $TMPDIR that later runs overwrite.
var simjobsBinary = sync.OnceValues(func() (string, error) {
	exe := filepath.Join(os.TempDir(), "simjobs-bench-bin", "simjobs")
	cmd := exec.Command("go", "build", "-o", exe, "github.com/simjobs/simjobs/cmd/simjobs")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return exe, nil
})

var listening = regexp.MustCompile(`listening on (https?://[^ ]+)`)

// startServer runs `simjobs serve` on dataDir with a free loopback port
// and waits until /readyz answers 200.
func startServer(exe, dataDir string, args ...string) (*serverProc, error) {
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json", "--scheduler", "none"}, args...)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	// The server's own settings only: no SIMJOBS_* from the caller's
	// environment, no .env from the working directory.
	cmd.Dir = dataDir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIMJOBS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &serverProc{cmd: cmd, done: make(chan error, 1), stderr: &tail{max: 8 << 10}}
	cmd.Stderr = p.stderr
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.done <- cmd.Wait() }()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case p.url = <-urls:
	case err := <-p.done:
		return nil, fmt.Errorf("simjobs serve exited before listening: %v\n%s", err, p.stderr)
	case <-time.After(2 * time.Minute):
		p.kill()
		return nil, fmt.Errorf("simjobs serve did not listen within 2 minutes\n%s", p.stderr)
	}
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.url + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.ready = time.Since(p.started)
				return p, nil
			}
		}
		select {
		case err := <-p.done:
			return nil, fmt.Errorf("simjobs serve exited before ready: %v\n%s", err, p.stderr)
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(p.started) > 2*time.Minute {
			p.kill()
			return nil, fmt.Errorf("simjobs serve not ready within 2 minutes\n%s", p.stderr)
		}
	}
}

// rss is the resident set size in bytes of the server: the process
// started and its children (`simjobs serve` runs the server as a child of
// a small reaper process). Linux only: it reads /proc.
func (p *serverProc) rss() (int64, error) {
	if runtime.GOOS != "linux" {
		return 0, errors.New("RSS is read from /proc (Linux only)")
	}
	root := p.cmd.Process.Pid
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var total int64
	for _, d := range procs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue // gone meanwhile
		}
		ppid, kb := -1, int64(0)
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "PPid:"); ok {
				ppid, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			}
		}
		if pid == root || ppid == root {
			total += kb << 10
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("no RSS found for process %d", root)
	}
	return total, nil
}

// stop asks the server to shut down (SIGTERM: drain, exit 0) and waits.
func (p *serverProc) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("simjobs serve: %w\n%s", err, p.stderr)
		}
		return nil
	case <-time.After(time.Minute):
		p.kill()
		return fmt.Errorf("simjobs serve did not stop within a minute of SIGTERM\n%s", p.stderr)
	}
}

func (p *serverProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// tail keeps the last max bytes written to it (a server's log, shown when
// it fails).
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
