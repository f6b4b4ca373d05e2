package main

// The client commands: submit, batch, jobs, status, cancel, priority, wait,
// limits, completion. Each talks to a server through package client.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/client"
)

// Exit codes of the client commands (simjobs help lists them).
const (
	exitOK          = 0
	exitError       = 1   // anything else: a job that did not complete, a cancel that cancelled nothing
	exitUsage       = 2   // bad flags or arguments
	exitUnreachable = 3   // no connection to the server
	exitAuth        = 4   // 401 or 403: missing or refused token, role too low
	exitNotFound    = 5   // 404: no such job
	exitRejected    = 6   // 400, 409, 413: the server refused the request (bad config, wrong state)
	exitJobFailed   = 7   // submit --wait, wait ID: the job failed (its own code only with --exit-code)
	exitCancelled   = 8   // submit --wait, wait ID: the job was cancelled
	exitTimeout     = 124 // wait --timeout expired
	exitInterrupted = 130 // interrupted (Ctrl-C): the jobs go on
)

// clientCommand is one client command.
type clientCommand struct {
	name    string
	args    string // the positional arguments, for usage
	summary string
	// setup registers the command's own flags on fs and returns the
	// function that runs it with the positional arguments (those before
	// "--", and those after it or nil when there was none).
	setup func(fs *flag.FlagSet) func(ctx context.Context, cx *cli, args, after []string) error
}

// clientCommands lists the client commands in the order help shows them.
func clientCommands() []clientCommand {
	return []clientCommand{
		{"submit", "[CONFIG.json | - | --project PATH | -- COMMAND [ARG...]]", "submit a job (HFSS config file, a project, or a plain command)", submitCommand},
		{"sweep", "FILE.json | - | --show ID | --cancel ID | --resubmit ID", "submit a sweep (one job per combination of parameter values), or show, cancel or resubmit one", sweepCommand},
		{"batch", "DIR", "submit every project in a folder (every .aedt; an .aedb without a sibling .aedt)", batchCommand},
		{"jobs", "", "list jobs as a table (or JSON)", jobsCommand},
		{"status", "ID", "show one job", statusCommand},
		{"log", "ID", "print a job's output (-f follows it, --stderr, --attempt N)", logCommand},
		{"cancel", "ID...", "cancel jobs (queued ones end at once, running ones are stopped)", cancelCommand},
		{"priority", "ID N", "change a queued job's priority (higher runs first)", priorityCommand},
		{"wait", "ID... | --all", "wait until jobs end; exit 0 if they completed (7: one failed, 8: it was cancelled)", waitCommand},
		{"limits", "", "show the limits, or change them with flags (admin)", limitsCommand},
		{"backup", "FILE", "write a consistent copy of the database to FILE (through the server while it runs)", backupCommand},
		{"restore", "FILE", "put a backup in place of a stopped server's database", restoreCommand},
		{"upload", "PROJECT", "upload a project (.aedt file or .aedb folder) to the server; prints the path to submit", uploadCommand},
		{"results", "ID", "list the files a job wrote; --out DIR downloads them, --zip FILE as one zip", resultsCommand},
		{"audit", "", "show who changed the limits or drained the server (admin)", auditCommand},
		{"health", "", "exit 0 when the server answers (container health checks)", healthCommand},
		{"licenses", "", "show the license servers' features, seats in use and who holds them", licensesCommand},
		{"completion", "bash|zsh|fish", "print a shell completion script", completionCommand},
	}
}

func findClientCommand(name string) (clientCommand, bool) {
	for _, c := range clientCommands() {
		if c.name == name {
			return c, true
		}
	}
	return clientCommand{}, false
}

// cli is what a client command works with.
type cli struct {
	env    lookupEnv
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	server string
	token  string
	api    *client.Client
	// tty: stderr is a terminal, so progress lines are redrawn in place.
	tty bool
	// solverCode: a waited-for job that failed ends the command with the
	// job's own exit code (--exit-code), not exitJobFailed.
	solverCode bool
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitStatus ends the command with a code and no further message (what
// needed saying was said).
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// runClient runs a client command and returns the process exit code.
func runClient(ctx context.Context, c clientCommand, args []string, env lookupEnv, stdin io.Reader, stdout, stderr io.Writer) int {
	cx := &cli{env: env, stdin: stdin, stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cx.server, "server", client.DefaultServer, "server `URL` (env SIMJOBS_SERVER)")
	fs.StringVar(&cx.token, "token", "", "bearer `token` when the server uses token auth (env SIMJOBS_TOKEN)")
	run := c.setup(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: simjobs %s [flags] %s\n\n%s.\n\nFlags:\n", c.name, c.args, upperFirst(c.summary))
		fs.PrintDefaults()
	}
	pos, after, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage // the flag package printed why
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v, ok := env("SIMJOBS_SERVER"); ok && v != "" && !set["server"] {
		cx.server = v
	}
	if v, ok := env("SIMJOBS_TOKEN"); ok && v != "" && !set["token"] {
		cx.token = v
	}
	if c.name != "completion" {
		if cx.api, err = client.New(cx.server, client.WithToken(cx.token)); err != nil {
			return cx.report(c.name, usagef("--server: %v", err))
		}
	}
	return cx.report(c.name, run(ctx, cx, pos, after))
}

// parseArgs parses flags wherever they appear among the arguments
// ("simjobs status ID --json"), until "--". It returns the positional
// arguments and, when there was a "--", those after it (non-nil).
func parseArgs(fs *flag.FlagSet, args []string) (pos, after []string, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return pos, append([]string{}, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// report prints what went wrong, in words, and returns the exit code.
func (cx *cli) report(cmd string, err error) int {
	if err == nil {
		return exitOK
	}
	var st exitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	msg, code := cx.explain(err)
	fmt.Fprintf(cx.stderr, "simjobs %s: %s\n", cmd, msg)
	if code == exitUsage {
		fmt.Fprintf(cx.stderr, "Run 'simjobs %s -h' for usage.\n", cmd)
	}
	return code
}

// explain turns an error into a sentence for people and an exit code.
func (cx *cli) explain(err error) (string, int) {
	var ue *usageError
	var unreach *client.UnreachableError
	var apiErr *client.Error
	switch {
	case errors.As(err, &ue):
		return ue.msg, exitUsage
	case errors.As(err, &unreach):
		return fmt.Sprintf("cannot reach the simjobs server at %s (%s).\nIs 'simjobs serve' running there? Point to it with --server URL or SIMJOBS_SERVER.",
			cx.server, netCause(unreach.Err)), exitUnreachable
	case errors.Is(err, context.Canceled):
		return "interrupted", exitInterrupted
	case errors.As(err, &apiErr):
		// Keep the command's context ("job X: ...") but show the server's
		// message rather than the request line.
		text := strings.Replace(err.Error(), apiErr.Error(), apiErr.Message, 1)
		switch {
		case errors.Is(err, client.ErrUnauthorized) && cx.token == "":
			return fmt.Sprintf("the server at %s requires a token: pass --token or set SIMJOBS_TOKEN", cx.server), exitAuth
		case errors.Is(err, client.ErrUnauthorized):
			return fmt.Sprintf("the server at %s refused the token (--token or SIMJOBS_TOKEN)", cx.server), exitAuth
		case errors.Is(err, client.ErrForbidden):
			return "not allowed: " + text, exitAuth
		case errors.Is(err, client.ErrNotFound):
			return text, exitNotFound
		case errors.Is(err, client.ErrBadRequest), errors.Is(err, client.ErrConflict):
			return "refused: " + text, exitRejected
		}
		return text, exitError
	}
	return err.Error(), exitError
}

// netCause is the heart of a network error: "connection refused", "no
// such host", "i/o timeout".
func netCause(err error) string {
	var sys *os.SyscallError
	if errors.As(err, &sys) {
		return sys.Err.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Err + ": " + dns.Name
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// clientUsage is the client part of `simjobs help`.
func clientUsage(w io.Writer) {
	fmt.Fprintln(w, "\nClient commands (each takes --server URL and --token; simjobs COMMAND -h for its flags):")
	for _, c := range clientCommands() {
		fmt.Fprintf(w, "  simjobs %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
The server is --server, else SIMJOBS_SERVER, else %s; the token is --token,
else SIMJOBS_TOKEN.

Exit codes of the client commands:
  0    success (for submit --wait and wait: the job completed)
  1    failure: cancel had nothing to cancel, batch had a submission fail, wait --all saw a job
       not complete, or any other error
  2    usage: bad flags or arguments
  3    the server cannot be reached
  4    authentication or permission: token missing or refused (401), role too low (403)
  5    not found: no such job (404)
  6    refused by the server: invalid config or a job state that does not allow it (400, 409, 413)
  7    submit --wait and wait ID: the job failed
  8    submit --wait and wait ID: the job was cancelled
  124  wait --timeout expired
  130  interrupted (Ctrl-C): the jobs go on
  N    submit --wait --exit-code and wait --exit-code ID: the job's own exit code when it failed
       with one (which may then be any of the codes above)
`, client.DefaultServer)
}

// since formats an elapsed time for people: 850ms, 12s, 3m04s, 2h05m.
func since(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
