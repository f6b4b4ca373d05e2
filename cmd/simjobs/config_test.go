package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func envOf(m map[string]string) lookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestServeConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dotenv := filepath.Join(dir, ".env")
	os.WriteFile(dotenv, []byte("SIMJOBS_MAX_CONCURRENT=4\nSIMJOBS_MIN_DISK_GB=7\nSIMJOBS_DATA_DIR=/from/dotenv\n# comment\nSIMJOBS_DRAIN_TIMEOUT=1m\n"), 0o644)
	env := envOf(map[string]string{"SIMJOBS_MAX_CONCURRENT": "3", "SIMJOBS_ALLOW_EXEC": "siwave, /opt/x/run", "SIMJOBS_MAX_CPU_PERCENT": "70"})
	c, err := parseServe([]string{"--env-file", dotenv, "--max-concurrent", "2"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"max": c.MaxConcurrent, "cpu": c.MaxCPUPercent, "disk": c.MinDiskGB, "data": c.DataDir, "drain": c.DrainTimeout, "allow": c.AllowExec, "mem": c.MinMemoryGB, "addr": c.Addr}
	want := map[string]any{"max": 2, "cpu": 70.0, "disk": 7.0, "data": "/from/dotenv", "drain": time.Minute, "allow": []string{"siwave", "/opt/x/run"}, "mem": 2.0, "addr": "127.0.0.1:8080"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flag > env > .env > default (-want +got):\n%s", diff)
	}
}

func TestServeConfigNotifyFlags(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"SIMJOBS_WEBHOOK_ALLOW": "hooks.slack.com, 10.0.0.0/8", "SIMJOBS_WEBHOOK_SECRET": "s", "SIMJOBS_WEBHOOK": "https://ignored.example/"})
	c, err := parseServe([]string{"--webhook", "https://a.example/x", "--webhook", "https://b.example/y,https://c.example/z", "--smtp", "smtp://u:p@mail.example", "--smtp-from", "simjobs@example.com"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"hooks": c.Webhooks, "allow": c.WebhookAllow, "secret": c.WebhookSecret, "smtp": c.SMTP, "from": c.SMTPFrom}
	want := map[string]any{"hooks": []string{"https://a.example/x", "https://b.example/y", "https://c.example/z"}, "allow": []string{"hooks.slack.com", "10.0.0.0/8"},
		"secret": "s", "smtp": "smtp://u:p@mail.example", "from": "simjobs@example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notify flags (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		cfg  serveConfig
		want string
	}{
		{serveConfig{WebhookAllow: []string{"http://x/"}}, "--webhook-allow"},
		{serveConfig{Webhooks: []string{"http://127.0.0.1:9/"}}, "--webhook"},
		{serveConfig{SMTP: "smtp://mail.example"}, "--smtp-from"},
		{serveConfig{SMTP: "imap://mail.example", SMTPFrom: "a@b.c"}, "smtp://"},
	} {
		if _, err := parseNotify(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}

func TestServeConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--max-concurrent", "0"}, nil, "max-concurrent"},
		{[]string{"--scheduler", "cron"}, nil, "scheduler"},
		{[]string{"--auth", "token"}, nil, "tokens-file"},
		{[]string{"--auth", "proxy"}, nil, "project-roots"},
		{nil, map[string]string{"SIMJOBS_MAX_CPU_PERCENT": "lots"}, "SIMJOBS_MAX_CPU_PERCENT"},
		{[]string{"--env-file", "/no/such/.env"}, nil, "env file"},
		{[]string{"extra"}, nil, "no arguments"},
		{[]string{"--log-format", "xml"}, nil, "log-format"},
		{[]string{"--tls-cert", "c.pem"}, nil, "--tls-key"},
		{nil, map[string]string{"SIMJOBS_TLS_KEY": "k.pem"}, "--tls-cert"},
		{[]string{"--rate-limit", "fast"}, nil, "--rate-limit"},
		{[]string{"--cors-origins", "example.com"}, nil, "--cors-origins"},
		{[]string{"--read-timeout", "0s"}, nil, "--read-timeout"},
		{[]string{"--max-header-bytes", "10"}, nil, "--max-header-bytes"},
		{[]string{"--public-url", "simjobs.example"}, nil, "public-url"},
	}
	for _, tc := range cases {
		_, err := parseServe(tc.args, envOf(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want it to mention %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestListenRefusesOpenAddressWithoutAuth(t *testing.T) {
	t.Parallel()
	_, err := listen(serveConfig{Addr: "0.0.0.0:0", Auth: "none"})
	if err == nil || !strings.Contains(err.Error(), "without authentication") {
		t.Fatalf("got %v", err)
	}
	ln, err := listen(serveConfig{Addr: "0.0.0.0:0", Auth: "none", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	ln, err = listen(serveConfig{Addr: "127.0.0.1:0", Auth: "none"})
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestNewestAnsys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, v := range []string{"v242", "v252"} {
		os.MkdirAll(filepath.Join(dir, v), 0o755)
		os.WriteFile(filepath.Join(dir, v, "ansysedt"), []byte("#!/bin/sh\n"), 0o755)
	}
	os.MkdirAll(filepath.Join(dir, "v261"), 0o755) // installed without the binary
	env := []string{"ANSYSEM_ROOT242=" + filepath.Join(dir, "v242"), "ANSYSEM_ROOT252=" + filepath.Join(dir, "v252"), "ANSYSEM_ROOT261=" + filepath.Join(dir, "v261"), "PATH=/bin"}
	if got, want := newestAnsys(env, "ansysedt"), filepath.Join(dir, "v252", "ansysedt"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := newestAnsys([]string{"PATH=/bin"}, "ansysedt"); got != "" {
		t.Errorf("no install: %q", got)
	}
}

// --retention takes what people type; a bad value is an error naming the
// forms it takes.
func TestAgeValue(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"0", 0, true},
		{"59m", 0, false}, // would delete jobs as they end
		{"-1d", 0, false},
		{"d", 0, false},
		{"", 0, false},
		{"1e9d", 0, false},
		{"ninety days", 0, false},
	} {
		var a ageValue
		err := a.Set(tt.in)
		if (err == nil) != tt.ok || (tt.ok && time.Duration(a) != tt.want) {
			t.Errorf("Set(%q) = %v, %v; want %v, ok %v", tt.in, time.Duration(a), err, tt.want, tt.ok)
		}
		if tt.ok {
			var b ageValue
			if err := b.Set(a.String()); err != nil || b != a {
				t.Errorf("%q prints as %q, which parses to %v (%v)", tt.in, a.String(), time.Duration(b), err)
			}
		}
	}
}

// The network flags come from the environment and .env like every flag.
func TestServeConfigNetworkFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dotenv := filepath.Join(dir, ".env")
	os.WriteFile(dotenv, []byte("SIMJOBS_TLS_CERT=/etc/simjobs/cert.pem\nSIMJOBS_TLS_KEY=/etc/simjobs/key.pem\nSIMJOBS_RATE_LIMIT=600/m\n"), 0o644)
	env := envOf(map[string]string{"SIMJOBS_CORS_ORIGINS": "https://a.example, https://b.example:8443", "SIMJOBS_MAX_WEBSOCKETS": "8"})
	c, err := parseServe([]string{"--env-file", dotenv, "--read-timeout", "5s"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"cert": c.TLSCert, "key": c.TLSKey, "rate": c.RateLimit, "burst": c.RateBurst, "cors": c.CORSOrigins, "ws": c.MaxWebSockets, "read": c.ReadTimeout, "idle": c.IdleTimeout}
	want := map[string]any{"cert": "/etc/simjobs/cert.pem", "key": "/etc/simjobs/key.pem", "rate": 10.0, "burst": 20, "cors": []string{"https://a.example", "https://b.example:8443"},
		"ws": 8, "read": 5 * time.Second, "idle": 120 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("network flags (-want +got):\n%s", diff)
	}
	d, err := parseServe(nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d.RateLimit != 50 || d.RateBurst != 100 || d.TLSCert != "" || len(d.CORSOrigins) != 0 {
		t.Errorf("defaults: rate %v burst %d tls %q cors %v", d.RateLimit, d.RateBurst, d.TLSCert, d.CORSOrigins)
	}
}
