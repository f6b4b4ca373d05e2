//go:build unix

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// selfSigned writes a certificate for 127.0.0.1 and localhost with its key
// into dir, as the README's test setup does with openssl, and returns the
// files and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "simjobs test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// simjobsToken runs `simjobs token ...` and returns its standard output.
func simjobsToken(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"token"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("simjobs token %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// The real binary serves HTTPS and WSS with a certificate made here;
// tokens are added, listed and removed with `simjobs token`, and the
// running server follows the file: a removed token gets 401 on its next
// request and its open WebSocket is closed; SIGHUP reloads without a
// restart.
func TestTLSAndTokenManagement(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	tokens := filepath.Join(dir, "auth", "tokens")
	if err := os.MkdirAll(filepath.Dir(tokens), 0o700); err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(simjobsToken(t, "add", "root", "--role", "admin", "--tokens-file", tokens))
	bob := strings.TrimSpace(simjobsToken(t, "add", "bob", "--role", "user", "--tokens-file", tokens))
	if len(admin) < 40 || len(bob) < 40 || admin == bob {
		t.Fatalf("tokens %q, %q", admin, bob)
	}
	list := simjobsToken(t, "list", "--tokens-file", tokens)
	if !strings.Contains(list, "root") || !strings.Contains(list, "admin") || !strings.Contains(list, "bob") || strings.Contains(list, bob) {
		t.Fatalf("token list:\n%s", list)
	}
	raw, _ := os.ReadFile(tokens)
	if strings.Contains(string(raw), bob) || strings.Contains(list, string(raw[strings.LastIndex(string(raw), ":")+1:])) {
		t.Fatalf("the tokens file or the list holds a token or its hash: %s / %s", raw, list)
	}

	p := start(t, dir, "--tls-cert", certFile, "--tls-key", keyFile, "--auth", "token", "--tokens-file", tokens,
		"--project-roots", dir, "--allow-exec=env,"+fakesolver.Path())
	if !strings.HasPrefix(p.url, "https://") {
		t.Fatalf("server listens on %s", p.url)
	}
	httpsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	call := func(tok, method, path string, body any) (int, string, *http.Response) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, p.url+path, r)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := httpsClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp
	}
	code, body, resp := call(bob, "GET", "/api/me", nil)
	if code != 200 || !strings.Contains(body, `"bob"`) {
		t.Fatalf("me over HTTPS: %d %s", code, body)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || resp.Proto != "HTTP/1.1" {
		t.Errorf("TLS %+v, protocol %s; want TLS 1.2+ and HTTP/1.1", resp.TLS, resp.Proto)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("headers over HTTPS: %v", resp.Header)
	}
	// TLS 1.1 is refused.
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get(p.url + "/healthz"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	// Plain HTTP on the TLS port gets no answer as HTTP.
	if r, err := http.Get("http://" + strings.TrimPrefix(p.url, "https://") + "/healthz"); err == nil && r.StatusCode == 200 {
		t.Error("plain HTTP served on the TLS port")
	}

	// A browser session over TLS: the cookie is Secure.
	const csrf = "test-csrf-token-0123456789abcdef0123456789"
	form := url.Values{"token": {bob}, "_csrf": {csrf}, "next": {"/"}}
	req, _ := http.NewRequest("POST", p.url+"/ui/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "simjobs_csrf="+csrf)
	noRedirect := *httpsClient
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	lr, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lr.Body.Close()
	secure := false
	for _, c := range lr.Cookies() {
		if c.Name == "simjobs_session" {
			secure = c.Secure && c.HttpOnly && c.SameSite == http.SameSiteStrictMode
		}
	}
	if !secure {
		t.Errorf("session cookie over TLS: %v, want Secure, HttpOnly, SameSite=Strict", lr.Header.Values("Set-Cookie"))
	}

	// WSS: bob's event stream gets his submission's event.
	dialer := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 10 * time.Second}
	wss := "wss://" + strings.TrimPrefix(p.url, "https://") + "/ws"
	ws, _, err := dialer.Dial(wss, http.Header{"Authorization": {"Bearer " + bob}})
	if err != nil {
		t.Fatalf("WSS: %v", err)
	}
	defer ws.Close()
	if code, body, _ := call(bob, "POST", "/jobs/submit", sleeper("bobs", "0")); code != 200 {
		t.Fatalf("submit over HTTPS: %d %s", code, body)
	}
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), "job_queued") {
		t.Fatalf("WSS event: %q %v", msg, err)
	}
	// The job's history names bob as the submitter.
	_, hist, _ := call(bob, "GET", "/jobs/bobs/history", nil)
	if !strings.Contains(hist, `"actor":"bob"`) {
		t.Errorf("history: %s", hist)
	}

	// Removing bob's token: the running server sees the file change.
	simjobsToken(t, "remove", "bob", "--tokens-file", tokens)
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 1008 {
			t.Errorf("bob's WSS after his token was removed: %v, want close 1008", err)
		}
		break
	}
	if code, _, _ := call(bob, "GET", "/api/me", nil); code != 401 {
		t.Errorf("bob's token after removal: %d, want 401", code)
	}
	if code, _, _ := call(admin, "GET", "/api/me", nil); code != 200 {
		t.Errorf("root after bob's removal: %d", code)
	}

	// SIGHUP, to the reaper, which passes it on: the server reloads and
	// keeps running.
	carol := strings.TrimSpace(simjobsToken(t, "add", "carol", "--tokens-file", tokens))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, "a reload on SIGHUP", func() bool { return strings.Contains(p.logs.String(), "why=SIGHUP") })
	if code, _, _ := call(carol, "GET", "/api/me", nil); code != 200 {
		t.Errorf("carol after SIGHUP: %d", code)
	}
	select {
	case err := <-p.done:
		t.Fatalf("the server exited on SIGHUP: %v\n%s", err, p.logs)
	default:
	}
	// Admin actions are audited: a limits change shows who made it.
	if code, body, _ := call(admin, "PUT", "/pool/limits", map[string]any{"max_concurrent_jobs": 3}); code != 200 {
		t.Fatalf("limits: %d %s", code, body)
	}
	if _, audit, _ := call(admin, "GET", "/api/audit", nil); !strings.Contains(audit, `"actor":"root"`) || !strings.Contains(audit, "max_concurrent_jobs 1 → 3") {
		t.Errorf("audit: %s", audit)
	}
}
