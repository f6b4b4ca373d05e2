package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/simjobs/simjobs/server"
)

// serveConfig is everything `simjobs serve` is told, from flags, SIMJOBS_*
// environment variables and a .env file, in that order of precedence.
type serveConfig struct {
	Addr          string
	DataDir       string
	MaxConcurrent int
	MaxCPUPercent float64
	MinMemoryGB   float64
	MinDiskGB     float64
	Scheduler     string
	AnsysEDTPath  string
	AllowExec     []string
	ProjectRoots  []string
	Auth          string
	TokensFile    string
	DrainTimeout  time.Duration
	KillGrace     time.Duration
	LogFormat     string
	Insecure      bool
	EnvFile       string
	Reaper        bool
	Retention     time.Duration // 0 keeps every job
	MaxLogMB      float64       // 0 leaves logs whole
	MaxUploadMB   int64
	// A server open to a network (SPEC section 6): TLS, abuse limits, CORS.
	TLSCert        string
	TLSKey         string
	RateLimit      float64 // state-changing requests per second per caller; 0 off
	RateBurst      int
	MaxWebSockets  int
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration
	MaxHeaderBytes int
	CORSOrigins    []string
	// License gate (README "Licenses").
	LicenseServers     []string
	LMUtil             string
	LicensePoll        time.Duration
	LicenseMap         string
	LicenseGateCluster bool
	// Notifications (engine/notify).
	Webhooks      []string
	WebhookSecret string
	WebhookAllow  []string
	PublicURL     string
	SMTP          string
	SMTPFrom      string
}

// listFlag is a flag that may be given several times; each value (and an
// environment or .env value) may also hold a comma-separated list.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	*l.v = append(*l.v, splitList(s)...)
	return nil
}

// lookupEnv reads one variable; a parameter so tests need not touch the
// process environment.
type lookupEnv func(string) (string, bool)

// parseServe reads the serve flags with their fallbacks. dotenv values come
// from the file named by --env-file (default .env in the working directory;
// a missing default file is fine).
func parseServe(args []string, env lookupEnv, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "`host:port` to listen on (loopback unless auth is on)")
	fs.StringVar(&c.DataDir, "data-dir", "./simjobs-data", "`dir` holding the database and job logs")
	fs.IntVar(&c.MaxConcurrent, "max-concurrent", 1, "jobs running at once on this host")
	fs.Float64Var(&c.MaxCPUPercent, "max-cpu-percent", 80, "start no job while host CPU is above this `percent`")
	fs.Float64Var(&c.MinMemoryGB, "min-memory-gb", 2, "start no job while free memory is below this many `GB`")
	fs.Float64Var(&c.MinDiskGB, "min-disk-gb", 2, "start no job while the data volume has less free space than this many `GB`")
	fs.StringVar(&c.Scheduler, "scheduler", "auto", "where jobs run: auto|none|slurm|lsf|pbs|windows_hpc|sge")
	fs.StringVar(&c.AnsysEDTPath, "ansys-edt-path", "", "the HFSS solver `path` (default: newest Ansys EM from ANSYSEM_ROOT* variables)")
	allow := fs.String("allow-exec", "", "comma-separated extra executables jobs may run (`paths or names on PATH`)")
	roots := fs.String("project-roots", "", "comma-separated `dirs` projects must live under (required with auth)")
	fs.StringVar(&c.Auth, "auth", "none", "authentication: none|token|proxy")
	fs.StringVar(&c.TokensFile, "tokens-file", "", "`file` of name:role:sha256-of-token lines (auth token)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 10*time.Minute, "how long a drain lets running jobs finish")
	fs.DurationVar(&c.KillGrace, "kill-grace", 10*time.Second, "time between SIGTERM and SIGKILL when a job is cancelled")
	fs.StringVar(&c.LogFormat, "log-format", "text", "server log format: text|json")
	fs.BoolVar(&c.Insecure, "insecure", false, "allow listening beyond loopback without authentication")
	fs.StringVar(&c.EnvFile, "env-file", ".env", "`file` of SIMJOBS_* defaults")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate `file` (chain included); needs --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", "", "the PEM private key `file` of --tls-cert")
	rateLimit := fs.String("rate-limit", "50/s", "state-changing requests (submissions, cancels, forms) one caller may make, as `N/s`, N/m or N/h; off for none")
	fs.IntVar(&c.RateBurst, "rate-burst", 0, "how many such requests one caller may make at once (default: twice the per-second rate, at least 10)")
	fs.IntVar(&c.MaxWebSockets, "max-websockets", server.DefaultMaxStreams, "live connections (/ws, Socket.IO, dashboard pages) one identity may hold; -1 for no cap")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", 30*time.Second, "longest time a client may take to send a whole request (slow clients are cut off)")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 60*time.Second, "longest time an answer may take to reach a client")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", server.DefaultMaxHeaderBytes, "largest request header block accepted (431 above it)")
	cors := fs.String("cors-origins", "", "comma-separated `origins` (https://host[:port]) whose pages may call the API with a token; none by default")
	fs.Var(listFlag{&c.Webhooks}, "webhook", "`URL` told of every job's end and every sweep's end (repeatable)")
	fs.StringVar(&c.WebhookSecret, "webhook-secret", "", "`secret` signing webhook bodies (X-Simjobs-Signature: sha256=HMAC)")
	fs.Var(listFlag{&c.WebhookAllow}, "webhook-allow", "`hosts` (names, *.domain) and addresses/CIDRs webhooks may reach; private and loopback addresses only when listed")
	fs.StringVar(&c.PublicURL, "public-url", "", "the dashboard's `URL` as notification recipients reach it (default: from --addr)")
	fs.StringVar(&c.SMTP, "smtp", "", "mail server `URL`: smtp://user:password@host:587 (STARTTLS when offered) or smtps://...:465")
	fs.StringVar(&c.SMTPFrom, "smtp-from", "", "sender `address` of notification mail")
	fs.BoolVar(&c.Reaper, "reaper", true, "Linux: run the server under a reaper process that collects the exit codes of jobs outliving a server crash and restarts the server")
	fs.Var((*ageValue)(&c.Retention), "retention", "delete ended jobs (and their logs) older than this `age`: 90d, 36h; 0 keeps all")
	fs.Float64Var(&c.MaxLogMB, "max-log-mb", 0, "cap each job log at this many `MB`, keeping the end (0: no cap)")
	fs.Int64Var(&c.MaxUploadMB, "max-upload-mb", 20480, "largest project upload (and unpacked .aedb) in `MiB`; larger ones get 413")
	licServers := fs.String("license-server", "", "comma-separated FlexNet license `servers` (port@host) whose seats gate the queue")
	fs.StringVar(&c.LMUtil, "lmutil", "lmutil", "the FlexNet lmutil `executable` that polls the license servers")
	fs.DurationVar(&c.LicensePoll, "license-poll", 30*time.Second, "how often the license servers are polled (and how long a just-started job's seats stay reserved)")
	fs.StringVar(&c.LicenseMap, "license-map", "", "JSON `file` saying which license features each kind of job needs (default: built-in Ansys numbers)")
	fs.BoolVar(&c.LicenseGateCluster, "license-gate-cluster", false, "hold scheduler jobs too until their licenses are free, before they are submitted")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	dotenv, err := readDotenv(c.EnvFile, set["env-file"])
	if err != nil {
		return c, err
	}
	// Fill every flag not given on the command line from the environment,
	// then from .env.
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "env-file" {
			return
		}
		key := envName(f.Name)
		v, ok := env(key)
		if !ok {
			v, ok = dotenv[key]
		}
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", key, v, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	c.AllowExec = splitList(*allow)
	c.ProjectRoots = splitList(*roots)
	c.CORSOrigins = splitList(*cors)
	if c.RateLimit, err = server.ParseRate(*rateLimit); err != nil {
		return c, fmt.Errorf("--rate-limit: %w", err)
	}
	if c.RateBurst == 0 && c.RateLimit > 0 {
		c.RateBurst = max(10, int(math.Ceil(2*c.RateLimit)))
	}
	c.LicenseServers = splitList(*licServers)
	return c, c.validate()
}

func envName(flagName string) string {
	return "SIMJOBS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func readDotenv(path string, explicit bool) (map[string]string, error) {
	m, err := godotenv.Read(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return m, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c serveConfig) validate() error {
	switch {
	case c.MaxConcurrent < 1:
		return errors.New("--max-concurrent must be at least 1")
	case c.MaxCPUPercent <= 0 || c.MaxCPUPercent > 100:
		return errors.New("--max-cpu-percent must be in (0, 100]")
	case c.MinMemoryGB < 0 || c.MinDiskGB < 0:
		return errors.New("--min-memory-gb and --min-disk-gb must be >= 0")
	case c.DrainTimeout < 0 || c.KillGrace < 0:
		return errors.New("--drain-timeout and --kill-grace must be >= 0")
	case c.MaxLogMB < 0:
		return errors.New("--max-log-mb must be >= 0")
	case c.MaxUploadMB < 1 || c.MaxUploadMB > 1<<30:
		return errors.New("--max-upload-mb must be from 1 to 1073741824 (MiB)")
	}
	switch c.Scheduler {
	case "auto", "none", "slurm", "lsf", "pbs", "windows_hpc", "sge":
	default:
		return fmt.Errorf("--scheduler must be auto, none, slurm, lsf, pbs, windows_hpc or sge, got %q", c.Scheduler)
	}
	switch c.Auth {
	case "none", "proxy":
	case "token":
		if c.TokensFile == "" {
			return errors.New("--auth token needs --tokens-file")
		}
	default:
		return fmt.Errorf("--auth must be none, token or proxy, got %q", c.Auth)
	}
	if c.Auth != "none" && len(c.ProjectRoots) == 0 {
		return errors.New("with authentication on, --project-roots is required: it bounds which files users can make the solver open")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.RateBurst < 0 || c.MaxHeaderBytes < 1024 {
		return errors.New("--rate-burst must be >= 0 and --max-header-bytes at least 1024")
	}
	if c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0 {
		return errors.New("--read-timeout, --write-timeout and --idle-timeout must be > 0")
	}
	if err := server.CheckOrigins(c.CORSOrigins); err != nil {
		return err
	}
	if err := c.validateLicenses(); err != nil {
		return err
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return fmt.Errorf("--public-url must start with http:// or https://, got %q", c.PublicURL)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, got %q", c.LogFormat)
	}
	return nil
}

// defaultSolver is the solver when none is given: the newest Ansys
// Electronics Desktop installed, "" when there is none. The server and the
// CLI's local fallback both choose it here.
func defaultSolver() string {
	exe := "ansysedt"
	if runtime.GOOS == "windows" {
		exe = "ansysedt.exe"
	}
	return newestAnsys(os.Environ(), exe)
}

// newestAnsys finds the newest Ansys Electronics Desktop from the
// ANSYSEM_ROOT<version> variables the installer sets (ANSYSEM_ROOT252 for
// 2025 R2), returning "" when there is none.
func newestAnsys(environ []string, exe string) string {
	type install struct {
		version int
		dir     string
	}
	var found []install
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		ver, ok := strings.CutPrefix(strings.ToUpper(k), "ANSYSEM_ROOT")
		n, err := strconv.Atoi(ver)
		if !ok || err != nil {
			continue
		}
		found = append(found, install{n, v})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].version > found[j].version })
	for _, in := range found {
		p := filepath.Join(in.dir, exe)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}
