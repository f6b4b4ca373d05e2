package hfss

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	jobIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	// hostnamePattern keeps ':' ',' and '%' out: they delimit the
	// "list=host:cores:max:util%,..." argument.
	hostnamePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$`)
	// schedulerNamePattern is for queues, accounts, reservations, QOS and
	// GPU types. They reach batch-script directive lines (#SBATCH, #BSUB,
	// #PBS), which no shell unquotes, so rejecting is the only safe choice.
	schedulerNamePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}$`)
	emailPattern         = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$`)
)

// Validate checks every rule of the configuration that needs no filesystem
// (SPEC section 1) plus the ones that keep the command line and batch scripts
// well formed, and returns a *FieldError for the first failure in field
// order. It does not normalise: call Normalize first, so "open mpi" or
// " slurm" are accepted in their canonical form. An empty JobID is valid: the
// caller generates one with NewJobID.
func (c Config) Validate() error {
	if errs := c.ValidateAll(); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// ValidateAll is Validate reporting every field that fails, in field order
// (one error per field), so that a form can mark them all at once.
func (c Config) ValidateAll() []*FieldError {
	var e fieldErrors
	c.validate(&e)
	return e
}

// fieldErrors collects the failures of a validation; nil ones are skipped.
type fieldErrors []*FieldError

func (e *fieldErrors) add(fe *FieldError) {
	if fe != nil {
		*e = append(*e, fe)
	}
}

func (c Config) validate(e *fieldErrors) {
	if c.JobID != "" && !jobIDPattern.MatchString(c.JobID) {
		e.add(fieldErrorf("jobid", "must be 1 to 128 letters, digits, '_' or '-', got %q", shorten(c.JobID)))
	}
	e.add(checkText("user", c.User))
	for i, n := range c.MachineNodes {
		n.validate(e, fmt.Sprintf("machine_nodes[%d]", i))
	}
	c.LayoutOptions.validate(e)
	c.validateProject(e)
	if !slices.Contains(schedulerTypes, c.SchedulerType) {
		e.add(fieldErrorf("scheduler_type", "must be one of %s, got %q", strings.Join(schedulerTypes, ", "), shorten(c.SchedulerType)))
	}
	c.SchedulerOptions.validate(e)
}

func (n MachineNode) validate(e *fieldErrors, path string) {
	switch {
	case n.Hostname == "":
		e.add(fieldErrorf(path+".hostname", "must not be empty"))
	case !hostnamePattern.MatchString(n.Hostname):
		e.add(fieldErrorf(path+".hostname", "must be a host name or IP address (letters, digits, '.', '-', '_'), got %q", shorten(n.Hostname)))
	}
	// PyEDB does not check cores, but the solver reads 0 or -2 tasks as
	// nonsense; -1 is PyEDB's "all cores".
	if n.Cores == 0 || n.Cores < -1 {
		e.add(fieldErrorf(path+".cores", "must be -1 (all) or at least 1, got %d", n.Cores))
	}
	if n.MaxCores < 1 {
		e.add(fieldErrorf(path+".max_cores", "must be at least 1, got %d", n.MaxCores))
	}
	if n.Utilization < 1 || n.Utilization > 100 {
		e.add(fieldErrorf(path+".utilization", "must be a percentage from 1 to 100, got %d", n.Utilization))
	}
}

func (o LayoutOptions) validate(e *fieldErrors) {
	const p = "layout_options."
	if !slices.Contains(processPriorities, o.DefaultProcessPriority) {
		e.add(oneOf(p+"default_process_priority", processPriorities, o.DefaultProcessPriority))
	}
	if !slices.Contains(mpiVendors, o.MPIVendor) {
		e.add(oneOf(p+"mpi_vendor", mpiVendors, o.MPIVendor))
	}
	// Both are free text inside the -batchoptions value, where a quote
	// would end the 'key'='value' pair early.
	e.add(checkBatchValue(p+"mpi_version", o.MPIVersion))
	e.add(checkBatchValue(p+"remote_spawn_command", o.RemoteSpawnCommand))
	e.add(checkText(p+"temp_directory", o.TempDirectory))
}

func (c Config) validateProject(e *fieldErrors) {
	switch {
	case c.ProjectPath == "":
		e.add(fieldErrorf("project_path", "is required: the .aedt file or .aedb folder to solve"))
	case !hasProjectExt(c.ProjectPath):
		e.add(fieldErrorf("project_path", "must end in .aedt or .aedb, got %q", shorten(c.ProjectPath)))
	case c.ProjectPath[0] == '-':
		e.add(fieldErrorf("project_path", "must not start with '-' (the solver would read it as an option), got %q", shorten(c.ProjectPath)))
	default:
		e.add(checkText("project_path", c.ProjectPath))
	}
	// ':' separates the parts of "design:mode:setup"; the setup name is
	// last, so only the first two parts must be free of it.
	for _, f := range []struct{ name, value string }{
		{"design_name", c.DesignName},
		{"design_mode", c.DesignMode},
	} {
		switch {
		case strings.Contains(f.value, ":"):
			e.add(fieldErrorf(f.name, "must not contain ':', got %q", shorten(f.value)))
		case f.name == "design_name" && strings.HasPrefix(f.value, "-"):
			e.add(fieldErrorf("design_name", "must not start with '-' (the solver would read it as an option), got %q", shorten(f.value)))
		default:
			e.add(checkText(f.name, f.value))
		}
	}
	e.add(checkText("setup_name", c.SetupName))
}

func (o SchedulerOptions) validate(e *fieldErrors) {
	const p = "scheduler_options."
	e.add(checkSchedulerName(p+"queue", o.Queue, false))
	if _, err := ParseWallTime(o.Time); err != nil {
		e.add(&FieldError{Field: p + "time", Message: err.Error()})
	}
	if o.Nodes < 1 {
		e.add(fieldErrorf(p+"nodes", "must be at least 1, got %d", o.Nodes))
	}
	if o.TasksPerNode < 1 {
		e.add(fieldErrorf(p+"tasks_per_node", "must be at least 1, got %d", o.TasksPerNode))
	}
	if o.CoresPerNode < 0 {
		e.add(fieldErrorf(p+"cores_per_node", "must be 0 (the scheduler's default) or more, got %d", o.CoresPerNode))
	}
	if o.Memory != "" {
		if _, err := ParseMemory(o.Memory); err != nil {
			e.add(&FieldError{Field: p + "memory", Message: err.Error()})
		}
	}
	for _, f := range []struct{ name, value string }{
		{"account", o.Account}, {"reservation", o.Reservation}, {"qos", o.QOS},
	} {
		e.add(checkSchedulerName(p+f.name, f.value, true))
	}
	e.add(checkConstraints(p+"constraints", o.Constraints))
	if o.GPUs < 0 {
		e.add(fieldErrorf(p+"gpus", "must be 0 or more, got %d", o.GPUs))
	}
	e.add(checkSchedulerName(p+"gpu_type", o.GPUType, true))
	if !slices.Contains(schedulerPriorities, o.Priority) {
		e.add(oneOf(p+"priority", schedulerPriorities, o.Priority))
	}
	if o.EmailNotification != "" && !emailPattern.MatchString(o.EmailNotification) {
		e.add(fieldErrorf(p+"email_notification", "must be one e-mail address like name@example.com, got %q", shorten(o.EmailNotification)))
	}
}

func oneOf(field string, allowed []string, got string) *FieldError {
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(a)
	}
	return fieldErrorf(field, "must be one of %s, got %q", strings.Join(quoted, ", "), shorten(got))
}

// checkText rejects what no path or name needs and what would break a log
// line, a batch script or the conversion of an argv to UTF-16 on Windows:
// invalid UTF-8 and control characters (NUL, newlines, escapes).
func checkText(field, s string) *FieldError {
	if !utf8.ValidString(s) {
		return fieldErrorf(field, "must be valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return fieldErrorf(field, "must not contain control characters (found %U)", r)
		}
	}
	return nil
}

func checkBatchValue(field, s string) *FieldError {
	if strings.ContainsAny(s, `'"`) {
		return fieldErrorf(field, "must not contain quotes, got %q", shorten(s))
	}
	return checkText(field, s)
}

func checkSchedulerName(field, s string, optional bool) *FieldError {
	if s == "" && optional {
		return nil
	}
	if !schedulerNamePattern.MatchString(s) {
		return fieldErrorf(field, "must be 1 to 128 letters, digits, '_', '.', '@', '+' or '-', starting with a letter, digit or '_', got %q", shorten(s))
	}
	return nil
}

// checkConstraints allows the feature expressions of SLURM ("a&b|[c*2]"),
// PBS and LSF ("select[mem>1000]") but nothing a shell or a directive line
// treats specially beyond them.
func checkConstraints(field, s string) *FieldError {
	if s == "" {
		return nil
	}
	if s[0] == '-' {
		return fieldErrorf(field, "must not start with '-', got %q", shorten(s))
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune(" _.-&|,*[]()!:=<>", r)
		if !ok {
			return fieldErrorf(field, "may contain letters, digits, spaces and _ . - & | , * [ ] ( ) ! : = < > only, found %q", r)
		}
	}
	return nil
}

// ParseWallTime parses a wall-time limit in the forms PyEDB accepts:
// "HH:MM:SS" (hours may exceed 24 and have any number of digits),
// "D.HH:MM:SS" (Windows HPC; HH below 24), or a whole number of minutes
// ("90"). Minutes and seconds must be two digits below 60. A limit of zero is
// refused: schedulers read it as "no limit" while a local run would be killed
// at once, and the default is 24 hours anyway.
func ParseWallTime(s string) (time.Duration, error) {
	bad := func() error {
		return fmt.Errorf("invalid wall time %q: want HH:MM:SS, D.HH:MM:SS or a number of minutes", shorten(s))
	}
	var days, hours, minutes, seconds int64
	var err error
	if !strings.Contains(s, ":") {
		if minutes, err = digits(s, 0); err != nil {
			return 0, bad()
		}
	} else {
		parts := strings.Split(s, ":")
		if len(parts) != 3 {
			return 0, bad()
		}
		h := parts[0]
		if d, rest, ok := strings.Cut(h, "."); ok {
			if days, err = digits(d, 0); err != nil {
				return 0, bad()
			}
			if hours, err = digits(rest, 2); err != nil || hours >= 24 {
				return 0, bad()
			}
		} else if hours, err = digits(h, 0); err != nil {
			return 0, bad()
		}
		if minutes, err = digits(parts[1], 2); err != nil || minutes >= 60 {
			return 0, bad()
		}
		if seconds, err = digits(parts[2], 2); err != nil || seconds >= 60 {
			return 0, bad()
		}
	}
	const maxSeconds = math.MaxInt64 / int64(time.Second)
	total := int64(0)
	for _, step := range []struct{ n, unit int64 }{{days, 86400}, {hours, 3600}, {minutes, 60}, {seconds, 1}} {
		if step.n > (maxSeconds-total)/step.unit {
			return 0, fmt.Errorf("invalid wall time %q: too long", shorten(s))
		}
		total += step.n * step.unit
	}
	if total == 0 {
		return 0, fmt.Errorf("invalid wall time %q: must be longer than zero", shorten(s))
	}
	return time.Duration(total) * time.Second, nil
}

var errNotDigits = errors.New("not a run of ASCII digits")

// digits parses a run of ASCII digits; width > 0 requires exactly that many.
// strconv.ParseInt alone would also take "+5" and "-5".
func digits(s string, width int) (int64, error) {
	if s == "" || (width > 0 && len(s) != width) {
		return 0, errNotDigits
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errNotDigits
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// memoryUnits are the suffixes ParseMemory knows, upper-cased. They are
// binary, as SLURM, PBS and LSF read them ("4GB" is 4096 MiB).
var memoryUnits = map[string]int64{
	"B": 1,
	"K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10,
	"M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20,
	"G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30,
	"T": 1 << 40, "TB": 1 << 40, "TIB": 1 << 40,
}

// ParseMemory returns the bytes of a memory size such as "4GB", "512 MB",
// "1.5G" or "64gb". A bare number is megabytes, as in SLURM's --mem.
func ParseMemory(s string) (int64, error) {
	bad := fmt.Errorf("invalid memory size %q: want a number with an optional unit, like 4GB or 512MB", shorten(s))
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
	if num == "" || num[0] == '.' || num[len(num)-1] == '.' || strings.Count(num, ".") > 1 {
		return 0, bad
	}
	if unit == "" {
		unit = "MB"
	}
	mult, ok := memoryUnits[unit]
	if !ok {
		return 0, bad
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, bad
	}
	bytes := f * float64(mult)
	if bytes >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid memory size %q: too large", shorten(s))
	}
	return int64(bytes), nil
}
