//go:build unix

package main

import (
	"bufio"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// make run says it is building, and Ctrl-C (SIGINT to the terminal's
// process group) drains the server, which exits 0: the recipe does not
// fail. (GNU make itself then ends by the same SIGINT, as it always does
// when interrupted: its status is the shell's 130, not a failed recipe's 2.)
func TestMakeRunSaysBuildingAndCtrlCDrains(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("skipping: make is not installed")
	}
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-s", "-C", root, "run", "ARGS=--addr 127.0.0.1:0 --scheduler none --data-dir "+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's foreground group of its own
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errBuf syncBuffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	building := false
	timeout := time.After(3 * time.Minute) // a cold build
	for listening := false; !listening; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("make run ended before the server listened")
			}
			building = building || strings.Contains(l, "building simjobs")
			listening = strings.Contains(l, "listening on")
		case <-timeout:
			t.Fatal("the server did not start")
		}
	}
	if !building {
		t.Error("make run did not say it was building")
	}
	go func() {
		for range lines {
		}
	}()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		interrupted := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT
		if err != nil && !interrupted {
			t.Errorf("make run after Ctrl-C: %v, want exit 0 or make's own interrupt\n%s", err, errBuf.String())
		}
		if log := errBuf.String(); !strings.Contains(log, "msg=stopped") || strings.Contains(log, "Error 1") {
			t.Errorf("the server did not drain and exit 0 on Ctrl-C:\n%s", log)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("make run did not stop after Ctrl-C")
	}
}
