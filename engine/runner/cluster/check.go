package cluster

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/simjobs/simjobs/engine/hfss"
	"github.com/simjobs/simjobs/engine/runner"
)

// ErrInvalid: a value cannot reach a batch script or a scheduler argument
// safely. The engine validates submissions already; the script generators
// check again, because a directive line is parsed by no shell and nothing
// else stands between a request field and the scheduler.
var ErrInvalid = errors.New("invalid for a batch job")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

var (
	// namePattern is for queues, accounts, reservations, QOS and GPU
	// types: the same rule as the HFSS config's validation.
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}$`)
	emailPattern = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$`)
	envKey       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// CheckName checks a queue, account, reservation, QOS or GPU type; empty
// passes.
func CheckName(field, s string) error {
	if s == "" || namePattern.MatchString(s) {
		return nil
	}
	return invalidf("%s %q: must be letters, digits, '_', '.', '@', '+' or '-', starting with a letter, digit or '_'", field, s)
}

// CheckConstraints checks a feature expression ("a&b|[c*2]",
// "select[mem>1000]"); empty passes.
func CheckConstraints(field, s string) error {
	if s == "" {
		return nil
	}
	if s[0] == '-' {
		return invalidf("%s %q: must not start with '-'", field, s)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune(" _.-&|,*[]()!:=<>", r)
		if !ok {
			return invalidf("%s %q: may contain letters, digits, spaces and _ . - & | , * [ ] ( ) ! : = < > only", field, s)
		}
	}
	return nil
}

// CheckEmail checks one e-mail address; empty passes.
func CheckEmail(field, s string) error {
	if s == "" || emailPattern.MatchString(s) {
		return nil
	}
	return invalidf("%s %q: must be one e-mail address like name@example.com", field, s)
}

// CheckText rejects invalid UTF-8 and control characters (NUL, line
// breaks, escapes): no directive line or argument can carry them intact.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return invalidf("%s: must be valid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return invalidf("%s %q: must not contain control characters such as line breaks (found %U)", field, s, r)
		}
	}
	return nil
}

// CheckPath checks a file or folder path handed to a scheduler: absolute,
// printable, and free of the characters in forbid.
func CheckPath(field, p, forbid string) error {
	if p == "" {
		return invalidf("%s: is empty", field)
	}
	if !filepath.IsAbs(p) && !strings.HasPrefix(p, "/") && !isWindowsAbs(p) {
		return invalidf("%s %q: must be an absolute path", field, p)
	}
	if err := CheckText(field, p); err != nil {
		return err
	}
	if i := strings.IndexAny(p, forbid); i >= 0 {
		return invalidf("%s %q: must not contain %q here", field, p, p[i])
	}
	return nil
}

func isWindowsAbs(p string) bool {
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') ||
		strings.HasPrefix(p, `\\`)
}

// Env splits KEY=VALUE pairs, checking that keys are shell identifiers and
// values printable.
func Env(env []string) ([][2]string, error) {
	out := make([][2]string, 0, len(env))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !envKey.MatchString(k) {
			return nil, invalidf("environment entry %q: want NAME=value with NAME a letter or '_' then letters, digits or '_'", kv)
		}
		if err := CheckText("environment variable "+k, v); err != nil {
			return nil, err
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// CheckArgv checks a command for a batch script: at least the executable,
// and no argument with a control character (a line break inside a script
// is where injected directives would hide).
func CheckArgv(argv []string) error {
	if len(argv) == 0 || argv[0] == "" {
		return invalidf("empty command")
	}
	for i, a := range argv {
		if err := CheckText(fmt.Sprintf("command argument %d", i), a); err != nil {
			return err
		}
	}
	return nil
}

// Checked is what every scheduler's submission is written from, checked.
type Checked struct {
	Env       [][2]string
	Wall      time.Duration // 0: no limit
	MemoryMiB int64         // 0: no request
}

// Check checks a job attempt for a batch submission (its scheduler
// options, command and environment) and returns the values the
// submission is written from.
func Check(spec runner.Spec) (Checked, error) {
	var c Checked
	if err := CheckResources(spec.Resources); err != nil {
		return c, err
	}
	if err := CheckArgv(spec.Argv); err != nil {
		return c, err
	}
	var err error
	if c.Env, err = Env(spec.Env); err != nil {
		return c, err
	}
	if c.Wall, err = WallTime(spec); err != nil {
		return c, err
	}
	if c.MemoryMiB, err = MemoryMiB(spec.Resources.Memory); err != nil {
		return c, err
	}
	return c, nil
}

// CheckResources checks every string of a job's scheduler options against
// its strict pattern.
func CheckResources(r runner.Resources) error {
	for _, f := range []struct{ name, value string }{
		{"queue", r.Queue}, {"account", r.Account}, {"reservation", r.Reservation},
		{"qos", r.QOS}, {"gpu_type", r.GPUType},
	} {
		if err := CheckName(f.name, f.value); err != nil {
			return err
		}
	}
	if err := CheckConstraints("constraints", r.Constraints); err != nil {
		return err
	}
	if err := CheckEmail("email_notification", r.Email); err != nil {
		return err
	}
	if prios := hfss.SchedulerPriorities(); r.Priority != "" && !slices.Contains(prios, r.Priority) {
		return invalidf("priority %q: must be %s", r.Priority, oneOf(prios))
	}
	if r.Nodes < 0 || r.TasksPerNode < 0 || r.CoresPerNode < 0 || r.GPUs < 0 {
		return invalidf("nodes, tasks_per_node, cores_per_node and gpus must not be negative")
	}
	if _, err := MemoryMiB(r.Memory); err != nil {
		return err
	}
	return nil
}

// DefaultQueue reports whether queue means "the scheduler's default":
// empty, or PyEDB's placeholder "default".
func DefaultQueue(queue string) bool { return queue == "" || strings.EqualFold(queue, "default") }

// MemoryMiB converts a memory size ("4GB", "512MB") to whole MiB, rounded
// up; "" is 0 (no request).
func MemoryMiB(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := hfss.ParseMemory(s)
	if err != nil {
		return 0, invalidf("memory: %v", err)
	}
	const mib = 1 << 20
	return (b + mib - 1) / mib, nil
}

// WallTime is the job's wall-time limit: spec.WallTime, or else its
// Resources.Time parsed; 0 when it has neither.
func WallTime(spec runner.Spec) (time.Duration, error) {
	if spec.WallTime > 0 {
		return spec.WallTime, nil
	}
	if spec.Resources.Time == "" {
		return 0, nil
	}
	d, err := hfss.ParseWallTime(spec.Resources.Time)
	if err != nil {
		return 0, invalidf("time: %v", err)
	}
	return d, nil
}

// Cores is the job's total core count: nodes × cores_per_node, or nodes ×
// tasks_per_node when cores_per_node is 0 (PyEDB's rule), at least 1.
func Cores(r runner.Resources) int {
	nodes := max(r.Nodes, 1)
	per := r.CoresPerNode
	if per <= 0 {
		per = max(r.TasksPerNode, 1)
	}
	n := int64(nodes) * int64(per)
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

// CeilDiv is a/b rounded up, for b > 0.
func CeilDiv(a, b int) int { return (a + b - 1) / b }

// ShellQuote quotes s for a POSIX shell (shlex.quote's rules).
func ShellQuote(s string) string { return hfss.PosixCommandLine([]string{s}) }

// ShellBody is the end of every POSIX batch script: change to dir, export
// env, and exec argv, each word quoted for the shell. exec makes the
// command's exit status the job's.
func ShellBody(dir string, env [][2]string, argv []string) string {
	return shellPrelude(dir, env) + "exec " + hfss.PosixCommandLine(argv) + "\n"
}

// shellPrelude is ShellBody without the exec line.
func shellPrelude(dir string, env [][2]string) string {
	var b strings.Builder
	if dir != "" {
		fmt.Fprintf(&b, "cd -- %s || exit 1\n", ShellQuote(dir))
	}
	for _, kv := range env {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], ShellQuote(kv[1]))
	}
	return b.String()
}

// OutputFlags checks a job's working directory and log paths for a
// qsub-style scheduler (PBS, Grid Engine) and returns the "-o FILE -e FILE"
// arguments that name its logs; forbid lists the characters the scheduler
// reads specially in those paths.
func OutputFlags(spec runner.Spec, forbid string) ([]string, error) {
	if spec.Dir != "" {
		if err := CheckPath("working directory", spec.Dir, ""); err != nil {
			return nil, err
		}
	}
	var args []string
	for _, p := range []struct{ opt, field, value string }{{"-o", "stdout file", spec.Stdout}, {"-e", "stderr file", spec.Stderr}} {
		if p.value == "" {
			continue
		}
		if err := CheckPath(p.field, p.value, forbid); err != nil {
			return nil, err
		}
		args = append(args, p.opt, p.value)
	}
	return args, nil
}

// oneOf lists choices as a message does: "A, B or C".
func oneOf(choices []string) string {
	if len(choices) < 2 {
		return strings.Join(choices, "")
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}
