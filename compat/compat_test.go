package compat

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/servertest"
)

// python is Debian's interpreter, which sees Debian's packages (the
// python3 first on PATH may be another build).
const python = "/usr/bin/python3"

// missing skips the test, or fails it under CI=true, where the
// dependencies must be installed (.ci/run does it).
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", why)
	}
	t.Skipf("skipped: %s", why)
}

// scriptTimeout bounds one client script: generous, as a busy machine
// (the race detector, other tests in parallel) is slow to start Python.
const scriptTimeout = 5 * time.Minute

func runScript(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := scriptRun(name, args...); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func scriptRun(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// When the PyEDB script fails half way, with the queue held at
// max_cpu_percent 1, it puts the limits back: they outlive restarts.
func TestPyEDBClientRestoresLimitsWhenItFails(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(python); err != nil {
		missing(t, python+" not found")
	}
	if out, err := exec.Command(python, "-c", "import aiohttp, socketio").CombinedOutput(); err != nil {
		missing(t, "python3-aiohttp or python3-socketio not installed: "+string(out))
	}
	// Its project is outside the server's roots: the first submission is
	// refused, after the limit was lowered.
	srv := servertest.Start(t, servertest.Options{Roots: []string{t.TempDir()}})
	before := srv.Manager.Limits()
	out, err := scriptRun(python, "pyedb_client.py", "--url", srv.URL, "--project", srv.Project)
	if err == nil {
		t.Fatalf("the script passed with its project refused:\n%s", out)
	}
	if got := srv.Manager.Limits(); got != before {
		t.Errorf("limits after the failed script %+v, want %+v as before:\n%s", got, before, out)
	}
}

// TestPyEDBClients runs compat/pyedb_client.py with each Socket.IO
// transport: default (polling, then the upgrade), polling only, and
// websocket only. Pings are fast here (every 0.4 s, 2 s timeout), and each
// client stays idle for 3 s: longer than the 2.4 s after which a websocket
// client that got no ping gives up, so a server that did not ping fails.
func TestPyEDBClients(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(python); err != nil {
		missing(t, python+" not found")
	}
	if out, err := exec.Command(python, "-c", "import aiohttp, socketio").CombinedOutput(); err != nil {
		missing(t, "python3-aiohttp or python3-socketio not installed (apt-get install -y python3-aiohttp python3-socketio python3-websocket): "+string(out))
	}
	for _, transport := range []string{"default", "polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			srv := servertest.Start(t, servertest.Options{SocketIO: server.SocketIOOptions{PingInterval: 400 * time.Millisecond, PingTimeout: 2 * time.Second}})
			args := []string{"pyedb_client.py", "--url", srv.URL, "--project", srv.Project, "--hold", "3", "--timeout", "120"}
			if transport != "default" {
				args = append(args, "--transport", transport)
			}
			runScript(t, python, args...)
		})
	}
}

// TestSocketIOClientNode runs compat/socketio_client.mjs with the npm
// socket.io-client (installed by npm ci --prefix compat/node).
func TestSocketIOClientNode(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not on PATH")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "socket.io-client")); err != nil {
		missing(t, "socket.io-client not installed: npm ci --prefix compat/node")
	}
	for _, transport := range []string{"default", "polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			srv := servertest.Start(t, servertest.Options{})
			cmd, _ := json.Marshal(map[string]any{"command": []string{srv.Solver}})
			args := []string{"socketio_client.mjs", srv.URL, string(cmd)}
			if transport != "default" {
				args = append(args, transport)
			}
			runScript(t, node, args...)
		})
	}
}
