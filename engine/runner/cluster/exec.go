package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

// DefaultTimeout bounds one call of a scheduler command when Exec.Timeout is
// zero. Scheduler daemons that are busy answer slowly, but a command that
// has not answered in this long is hung.
const DefaultTimeout = 30 * time.Second

// maxOutput bounds what one command may print: a listing of 10,000 jobs is
// well under a megabyte, so anything near this is a runaway command.
const maxOutput = 64 << 20

// Errors an Exec call wraps, for errors.Is.
var (
	// ErrCommandNotFound: the command is not installed where it was looked for.
	ErrCommandNotFound = errors.New("command not found")
	// ErrTimeout: the command did not finish within the timeout and was killed.
	ErrTimeout = errors.New("timed out")
	// ErrExit: the command exited with a non-zero status.
	ErrExit = errors.New("non-zero exit status")
	// ErrOutput: the command's output could not be understood.
	ErrOutput = errors.New("unexpected output")
)

// Exec runs the command-line tools of a scheduler (sbatch, bjobs, qstat, job)
// (named so as not to be taken for the product's own CLI in cmd/simjobs).
// It never goes through a shell: every argument reaches the tool as it is.
// Its zero value looks commands up on PATH with DefaultTimeout.
type Exec struct {
	// Dir holds the commands; "" looks them up on PATH.
	Dir string
	// Env is added to the server's environment for every call.
	Env []string
	// Timeout bounds each call; zero means DefaultTimeout.
	Timeout time.Duration

	mu    sync.Mutex
	calls map[string]int
}

// Output is what a command printed.
type Output struct {
	Stdout []byte
	Stderr []byte
}

// CommandError is a failed call of a scheduler command. Its text names the
// command and says what went wrong in words a user can act on, with the
// first lines of what the command printed on stderr.
type CommandError struct {
	Command  string // the command and its first arguments, for messages
	ExitCode int    // -1 when it did not exit normally
	Stdout   string
	Stderr   string
	Err      error // ErrCommandNotFound, ErrTimeout, ErrExit or the start error
}

func (e *CommandError) Error() string {
	var b strings.Builder
	b.WriteString(e.Command)
	switch {
	case errors.Is(e.Err, ErrExit):
		fmt.Fprintf(&b, ": exit status %d", e.ExitCode)
	default:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if msg := firstLines(e.Stderr, 3); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	} else if msg := firstLines(e.Stdout, 2); msg != "" && errors.Is(e.Err, ErrExit) {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	return b.String()
}

func (e *CommandError) Unwrap() error { return e.Err }

// firstLines returns up to n non-empty lines of s joined by "; ", cut to a
// length fit for an error message.
func firstLines(s string, n int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		out = append(out, line)
		if len(out) == n {
			break
		}
	}
	msg := strings.Join(out, "; ")
	const max = 400
	if len(msg) > max {
		msg = msg[:max] + "..."
	}
	return msg
}

// Path returns where the command name is run from, or an error wrapping
// ErrCommandNotFound.
func (c *Exec) Path(name string) (string, error) {
	if c.Dir != "" {
		p := filepath.Join(c.Dir, name)
		if found, err := exec.LookPath(p); err == nil {
			return found, nil
		}
		return "", fmt.Errorf("%s: %w in %s", name, ErrCommandNotFound, c.Dir)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w on PATH", name, ErrCommandNotFound)
	}
	return p, nil
}

// Submission is one batch submission: a command, its arguments, and the
// script it reads on its standard input ("" for none).
type Submission struct {
	Command string
	Args    []string
	Script  string
	// Copy names the copy of the script kept beside the job's stdout log,
	// for whoever wants to see what ran ("" for none). Failing to write
	// it does not fail the submission.
	Copy string
	// Parse reads the scheduler's job id from what the command printed.
	Parse func(stdout []byte) (string, error)
}

// Submit runs a submission for job spec and returns the scheduler's id.
func (c *Exec) Submit(ctx context.Context, spec runner.Spec, s Submission) (string, error) {
	if s.Copy != "" && s.Script != "" && spec.Stdout != "" {
		_ = os.WriteFile(filepath.Join(filepath.Dir(spec.Stdout), s.Copy), []byte(s.Script), 0o644)
	}
	var stdin []byte
	if s.Script != "" {
		stdin = []byte(s.Script)
	}
	out, err := c.Run(ctx, stdin, s.Command, s.Args...)
	if err == nil {
		var id string
		if id, err = s.Parse(out.Stdout); err == nil {
			return id, nil
		}
	}
	return "", fmt.Errorf("submit job %s: %w", spec.JobID, err)
}

// Run runs name with args, stdin as its input (nil for none), and returns
// its output. A command that is missing, exits non-zero or runs past the
// timeout returns a *CommandError; the output is returned with it.
func (c *Exec) Run(ctx context.Context, stdin []byte, name string, args ...string) (Output, error) {
	c.count(name)
	label := commandLabel(name, args)
	path, err := c.Path(name)
	if err != nil {
		return Output{}, &CommandError{Command: label, ExitCode: -1, Err: err}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), c.Env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	setGroup(cmd)
	// A hung command may have children holding its output open: once it
	// is killed, stop waiting for them.
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	out := Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err == nil && (stdout.over || stderr.over) {
		return out, &CommandError{Command: label, ExitCode: 0, Err: fmt.Errorf("%w: more than %d bytes", ErrOutput, maxOutput)}
	}
	if err == nil {
		return out, nil
	}
	ce := &CommandError{Command: label, ExitCode: -1, Stdout: string(out.Stdout), Stderr: string(out.Stderr)}
	var exit *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		ce.Err = fmt.Errorf("%w after %v (killed)", ErrTimeout, timeout)
	case ctx.Err() != nil:
		ce.Err = ctx.Err()
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		ce.ExitCode = exit.ExitCode()
		ce.Err = ErrExit
	default:
		ce.Err = err
	}
	return out, ce
}

// commandLabel names a call in messages: the command and its first few
// arguments, which are enough to tell calls apart.
func commandLabel(name string, args []string) string {
	const maxArgs = 4
	parts := append([]string{name}, args[:min(len(args), maxArgs)]...)
	label := strings.Join(parts, " ")
	if len(args) > maxArgs {
		label += " ..."
	}
	return label
}

func (c *Exec) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = make(map[string]int)
	}
	c.calls[name]++
}

// Calls returns how many times each command has been run.
func (c *Exec) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

// CallSummary is Calls as "name=count" pairs in name order, for logs.
func (c *Exec) CallSummary() string {
	calls := c.Calls()
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%d", n, calls[n])
	}
	return strings.Join(parts, " ")
}

// limitedBuffer keeps the first maxOutput bytes written to it and notes
// whether more came.
type limitedBuffer struct {
	buf  bytes.Buffer
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.buf.Len(); len(p) > room {
		b.over = true
		b.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) Bytes() []byte { return b.buf.Bytes() }
