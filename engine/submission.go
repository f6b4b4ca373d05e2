package engine

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/simjobs/simjobs/engine/hfss"
	"github.com/simjobs/simjobs/engine/runner"
)

// ValidationError is a submission or setting the engine refuses, naming the
// field at fault by its JSON path.
type ValidationError struct {
	Field   string
	Message string
	// Others are the further fields that failed, in field order, when the
	// validation went on past the first (an HFSS config reports them all).
	Others []*ValidationError
}

func (e *ValidationError) Error() string {
	s := e.Field + ": " + e.Message
	for _, o := range e.Others {
		s += "; " + o.Field + ": " + o.Message
	}
	return s
}

// All is e and its Others.
func (e *ValidationError) All() []*ValidationError {
	return append([]*ValidationError{{Field: e.Field, Message: e.Message}}, e.Others...)
}

// Policy is what clients may run on this server and where (SPEC section 6).
// Paths in it are absolute; NewPolicy resolves them.
type Policy struct {
	// Solver is the configured HFSS executable ("" when none is installed).
	Solver string
	// AllowExec lists further executables jobs may run.
	AllowExec []string
	// ProjectRoots are the folders projects and working directories must sit
	// under (symlinks resolved). Empty allows any existing path.
	ProjectRoots []string
	// SchedulerType is what the server hands jobs to: "none" runs them here.
	SchedulerType string
	// DefaultUser owns jobs submitted without authentication and without a
	// user field.
	DefaultUser string
	// UploadRoot is <data-dir>/uploads: each user's folder in it
	// (upload.UserDir) counts as a project root for that user only.
	UploadRoot string
}

// NewPolicy cleans and resolves the paths of a policy: executables given by
// bare name are looked up on PATH, roots get their symlinks resolved. An
// entry that cannot be resolved is an error naming it.
func NewPolicy(solver string, allowExec, roots []string, schedulerType string) (Policy, error) {
	p := Policy{SchedulerType: schedulerType}
	if p.SchedulerType == "" {
		p.SchedulerType = "none"
	}
	if solver != "" {
		abs, err := resolveExecutable(solver)
		if err != nil {
			return Policy{}, fmt.Errorf("ansys-edt-path: %w", err)
		}
		p.Solver = abs
	}
	for _, e := range allowExec {
		if strings.TrimSpace(e) == "" {
			continue
		}
		abs, err := resolveExecutable(e)
		if err != nil {
			return Policy{}, fmt.Errorf("allow-exec: %w", err)
		}
		p.AllowExec = append(p.AllowExec, abs)
	}
	for _, r := range roots {
		if strings.TrimSpace(r) == "" {
			continue
		}
		abs, err := filepath.Abs(r)
		if err != nil {
			return Policy{}, fmt.Errorf("project-roots: %w", err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return Policy{}, fmt.Errorf("project-roots: %w", err)
		}
		p.ProjectRoots = append(p.ProjectRoots, real)
	}
	return p, nil
}

func resolveExecutable(name string) (string, error) {
	if !strings.ContainsAny(name, `/\`) {
		found, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%q is not on PATH: %w", name, err)
		}
		name = found
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	return filepath.Clean(abs), nil
}

// allowed returns the executable to run for name, which a client sent: an
// absolute path equal to the solver or an allow-list entry, or a bare name
// equal to the base name of one.
func (p Policy) allowed(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	candidates := append([]string{}, p.AllowExec...)
	if p.Solver != "" {
		candidates = append(candidates, p.Solver)
	}
	bare := !strings.ContainsAny(name, `/\`)
	for _, c := range candidates {
		if bare {
			if samePath(filepath.Base(c), name) || samePath(strings.TrimSuffix(filepath.Base(c), ".exe"), name) {
				return c, true
			}
			continue
		}
		if filepath.IsAbs(name) && samePath(filepath.Clean(name), c) {
			return c, true
		}
	}
	return "", false
}

func samePath(a, b string) bool {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// checkPath verifies that path exists and sits under the project roots,
// or in the owner's upload folder (see uploadAllowed).
func (p Policy) checkPath(field, path string, wantDir bool, owner string, authed bool) error {
	if !filepath.IsAbs(path) {
		return &ValidationError{Field: field, Message: fmt.Sprintf("must be an absolute path, got %q", path)}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return &ValidationError{Field: field, Message: fmt.Sprintf("%q does not exist on this host", path)}
	}
	if wantDir && !fi.IsDir() {
		return &ValidationError{Field: field, Message: fmt.Sprintf("%q is not a directory", path)}
	}
	if len(p.ProjectRoots) == 0 {
		return nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return &ValidationError{Field: field, Message: fmt.Sprintf("cannot resolve %q", path)}
	}
	if ok, inUploads := p.uploadAllowed(real, owner, authed); inUploads {
		if ok {
			return nil
		}
		return &ValidationError{Field: field, Message: fmt.Sprintf("%q is another user's upload", path)}
	}
	for _, root := range p.ProjectRoots {
		if within(root, real) {
			return nil
		}
	}
	return &ValidationError{Field: field, Message: fmt.Sprintf("%q is outside the allowed project roots (%s)", path, strings.Join(p.ProjectRoots, ", "))}
}

// Within reports whether path (absolute, symlinks resolved) is one of the
// project roots or under one; with no roots every path is. The pages use it
// to offer only the folders a submission may name.
func (p Policy) Within(path string) bool {
	if len(p.ProjectRoots) == 0 {
		return true
	}
	for _, root := range p.ProjectRoots {
		if within(root, path) {
			return true
		}
	}
	return false
}

// Spec is the run spec of a config (its first attempt) exactly as a
// server with this policy would build it, after every check Submit makes:
// the NUL-byte, argument-size and job-id checks, the allow-list and the
// project roots. The CLI's local fallback runs it; the submission itself
// builds its spec the same way (prepare).
func (p Policy) Spec(raw json.RawMessage) (runner.Spec, error) {
	pr, err := p.prepare(raw, "", time.Now().UTC(), true)
	if err != nil {
		return runner.Spec{}, err
	}
	spec := pr.spec
	spec.Attempt = 1
	return spec, nil
}

func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// CommandConfig is a solver-agnostic job: an argv run as it is.
type CommandConfig struct {
	Command          []string `json:"command"`
	JobID            string   `json:"jobid"`
	WorkingDirectory string   `json:"working_directory"`
	User             string   `json:"user,omitempty"`
	// Time is an optional wall-time limit in the HFSS config's forms.
	Time string `json:"time,omitempty"`
}

var jobIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// prepared is a validated submission, ready to store and to run.
type prepared struct {
	kind    Kind
	id      string
	user    string
	project string // what searches match: the project, or the working directory
	config  json.RawMessage
	spec    runner.Spec // without the per-attempt fields
	notes   []string
}

// prepare decodes, normalises and validates a submitted config against the
// policy. user is the authenticated identity, "" when auth is off. The
// runner spec (argv, resources) is built only withSpec: a submission only
// stores the config, the spec is built again when the job starts.
func (p Policy) prepare(raw json.RawMessage, user string, now time.Time, withSpec bool) (prepared, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return prepared{}, &ValidationError{Field: "config", Message: "must be a JSON object"}
	}
	// Only a config holding the text "command" can be a plain command; the
	// full look at its keys is skipped for every other (HFSS) config, which
	// is most of them: this path runs on every submission.
	if bytes.Contains(raw, []byte(`"command"`)) {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(raw, &probe); err != nil {
			return prepared{}, &ValidationError{Field: "config", Message: "is not valid JSON: " + err.Error()}
		}
		if _, ok := probe["command"]; ok {
			return p.prepareCommand(raw, user, now)
		}
	}
	return p.prepareHFSS(raw, user, now, withSpec)
}

func (p Policy) prepareHFSS(raw json.RawMessage, user string, now time.Time, withSpec bool) (prepared, error) {
	cfg, err := hfss.Decode(raw)
	if err != nil {
		return prepared{}, fieldError(err)
	}
	cfg.Normalize()
	if errs := cfg.ValidateAll(); len(errs) > 0 {
		return prepared{}, p.allFieldErrors(cfg, errs, user)
	}
	if cfg.JobID == "" {
		cfg.JobID = hfss.NewJobID(now, rand.Reader)
	}
	owner, err := p.owner(user, cfg.User)
	if err != nil {
		return prepared{}, err
	}
	if err := p.checkPath("project_path", cfg.ProjectPath, false, owner, user != ""); err != nil {
		return prepared{}, err
	}
	var notes []string
	exe, ok := p.allowed(cfg.AnsysEDTPath)
	if !ok {
		if p.Solver == "" {
			return prepared{}, &ValidationError{Field: "ansys_edt_path", Message: fmt.Sprintf("%q is not an allowed executable on this server and no solver is configured (start it with --ansys-edt-path)", cfg.AnsysEDTPath)}
		}
		exe = p.Solver
		if cfg.AnsysEDTPath != "" {
			notes = append(notes, fmt.Sprintf("ansys_edt_path %q is not an allowed executable on this server; the configured solver %s runs instead", cfg.AnsysEDTPath, exe))
		}
	}
	cfg.AnsysEDTPath = exe
	user = owner
	cfg.User = user
	cfg.SchedulerType = p.SchedulerType
	wall, err := hfss.ParseWallTime(cfg.SchedulerOptions.Time)
	if err != nil {
		return prepared{}, &ValidationError{Field: "scheduler_options.time", Message: err.Error()}
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return prepared{}, fmt.Errorf("encode config: %w", err)
	}
	pr := prepared{kind: KindHFSS, id: cfg.JobID, user: user, project: cfg.ProjectPath, config: js, notes: notes}
	if !withSpec {
		return pr, nil
	}
	argv := cfg.CommandLine(exe)
	if p.SchedulerType != "none" {
		argv = cfg.SchedulerCommandLine(exe)
	}
	o := cfg.SchedulerOptions
	pr.spec = runner.Spec{
		JobID:     cfg.JobID,
		Argv:      argv,
		Dir:       filepath.Dir(cfg.ProjectPath),
		WallTime:  wall,
		Resources: o.Resources(),
	}
	if p.SchedulerType != "none" {
		if arg, util, ok := cfg.AllocatedHosts(argv); ok {
			pr.spec.MachineList = &runner.MachineList{Arg: arg, Utilization: util}
		}
	}
	return pr, nil
}

// maxArgs and maxArgBytes keep one argv within what every OS accepts.
const (
	maxArgs     = 4096
	maxArgBytes = 128 << 10
)

func (p Policy) prepareCommand(raw json.RawMessage, user string, now time.Time) (prepared, error) {
	var cfg CommandConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return prepared{}, jsonFieldError(err)
	}
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return prepared{}, &ValidationError{Field: "command", Message: "must be a non-empty array whose first element is the executable"}
	}
	if len(cfg.Command) > maxArgs {
		return prepared{}, &ValidationError{Field: "command", Message: fmt.Sprintf("has more than %d arguments", maxArgs)}
	}
	total := 0
	for i, a := range cfg.Command {
		total += len(a)
		if strings.IndexByte(a, 0) >= 0 {
			return prepared{}, &ValidationError{Field: fmt.Sprintf("command[%d]", i), Message: "must not contain a NUL byte"}
		}
	}
	if total > maxArgBytes {
		return prepared{}, &ValidationError{Field: "command", Message: fmt.Sprintf("is longer than %d bytes", maxArgBytes)}
	}
	if cfg.JobID == "" {
		cfg.JobID = hfss.NewJobID(now, rand.Reader)
	} else if !jobIDPattern.MatchString(cfg.JobID) {
		return prepared{}, &ValidationError{Field: "jobid", Message: "must be 1 to 128 letters, digits, '_' or '-'"}
	}
	exe, ok := p.allowed(cfg.Command[0])
	if !ok {
		return prepared{}, &ValidationError{Field: "command[0]", Message: fmt.Sprintf("%q is not on this server's executable allow-list (--allow-exec)", cfg.Command[0])}
	}
	var wall time.Duration
	if cfg.Time != "" {
		w, err := hfss.ParseWallTime(cfg.Time)
		if err != nil {
			return prepared{}, &ValidationError{Field: "time", Message: err.Error()}
		}
		wall = w
	}
	authed := user != ""
	user, err := p.owner(user, cfg.User)
	if err != nil {
		return prepared{}, err
	}
	if cfg.WorkingDirectory != "" {
		if err := p.checkPath("working_directory", cfg.WorkingDirectory, true, user, authed); err != nil {
			return prepared{}, err
		}
	}
	cfg.User = user
	argv := append([]string{exe}, cfg.Command[1:]...)
	js, err := json.Marshal(cfg)
	if err != nil {
		return prepared{}, fmt.Errorf("encode config: %w", err)
	}
	return prepared{
		kind:    KindCommand,
		id:      cfg.JobID,
		user:    user,
		project: cfg.WorkingDirectory,
		config:  js,
		spec:    runner.Spec{JobID: cfg.JobID, Argv: argv, Dir: cfg.WorkingDirectory, WallTime: wall},
	}, nil
}

// owner is who a job belongs to: the authenticated user, else the config's
// user field, else the default.
func (p Policy) owner(authenticated, fromConfig string) (string, error) {
	switch {
	case authenticated != "":
		return authenticated, nil
	case fromConfig == "":
		return p.DefaultUser, nil
	case len(fromConfig) > 64 || strings.IndexFunc(fromConfig, unicode.IsControl) >= 0:
		return "", &ValidationError{Field: "user", Message: "must be at most 64 printable characters"}
	}
	return fromConfig, nil
}

// allFieldErrors is every failure of an HFSS config as one error: those of
// the config itself and, when its path is well formed, the project path's
// check on this host, so that a form shows them all at once.
func (p Policy) allFieldErrors(cfg hfss.Config, errs []*hfss.FieldError, user string) error {
	ve := &ValidationError{Field: errs[0].Field, Message: errs[0].Message}
	pathBad := false
	for _, fe := range errs {
		pathBad = pathBad || fe.Field == "project_path"
	}
	for _, fe := range errs[1:] {
		ve.Others = append(ve.Others, &ValidationError{Field: fe.Field, Message: fe.Message})
	}
	if !pathBad {
		var pe *ValidationError
		owner, _ := p.owner(user, cfg.User) // a bad user is reported when the rest is right
		if err := p.checkPath("project_path", cfg.ProjectPath, false, owner, user != ""); errors.As(err, &pe) {
			ve.Others = append(ve.Others, pe)
		}
	}
	return ve
}

func fieldError(err error) error {
	var fe *hfss.FieldError
	if errors.As(err, &fe) {
		return &ValidationError{Field: fe.Field, Message: fe.Message}
	}
	return &ValidationError{Field: "config", Message: err.Error()}
}

// jsonFieldError names the field of a JSON decoding error.
func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "config"
		}
		return &ValidationError{Field: field, Message: fmt.Sprintf("must be %s, got %s", jsonKind(te.Type.Kind().String()), te.Value)}
	}
	return &ValidationError{Field: "config", Message: "is not valid JSON: " + err.Error()}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "float64", "float32":
		return "a number"
	}
	return k
}
