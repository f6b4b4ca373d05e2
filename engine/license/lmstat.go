package license

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// serverPattern is a FlexNet license server address: port@host, or @host
// for the default port range.
var serverPattern = regexp.MustCompile(`^[0-9]{0,5}@[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)

// CheckServer validates one --license-server entry. Entries reach lmutil's
// command line, so anything but port@host is refused.
func CheckServer(s string) error {
	if !serverPattern.MatchString(s) {
		return fmt.Errorf("license server %q is not port@host", s)
	}
	return nil
}

// lmstat runs `lmutil lmstat -a -c server` and parses what it prints.
func lmstat(ctx context.Context, lmutil, server string, env []string, timeout time.Duration, now time.Time, loc *time.Location) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, lmutil, "lmstat", "-a", "-c", server)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	// lmutil may leave a child holding the pipes open; do not wait for it.
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return Status{}, fmt.Errorf("lmutil lmstat timed out after %s", timeout)
	}
	st, err := Parse(stdout.Bytes(), now, loc)
	if err == nil && (runErr == nil || !st.Up) {
		// lmstat exits non-zero for a server it cannot reach; the text
		// says why.
		return st, nil
	}
	var ee *exec.ExitError
	switch {
	case errors.As(runErr, &ee):
		return Status{}, fmt.Errorf("lmutil lmstat exited with status %d: %s", ee.ExitCode(), firstLine(stderr.Bytes(), stdout.Bytes()))
	case runErr != nil:
		return Status{}, fmt.Errorf("lmutil: %w", runErr)
	}
	return Status{}, fmt.Errorf("lmutil lmstat printed no license status: %s", firstLine(stdout.Bytes(), stderr.Bytes()))
}

// firstLine is the first non-empty line of the first output that has one,
// shortened, for error messages.
func firstLine(outs ...[]byte) string {
	for _, o := range outs {
		for _, l := range strings.Split(string(o), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				if len(l) > 200 {
					l = l[:200] + "…"
				}
				return l
			}
		}
	}
	return "no output"
}
