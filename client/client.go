// Package client is a Go client of the simjobs server: every REST route
// and the /ws event stream, with typed answers.
//
// The answers are the wire format's types (package server/apitype:
// apitype.Job, apitype.SubmitReply, ...), which the server answers with
// too: the compiler keeps the client and the server in step, and the
// OpenAPI test checks both against the published schemas. The client
// imports nothing else of simjobs, so a program using it does not compile
// the engine, its SQLite driver or the HTTP server (TestImportGraph).
//
//	c, err := client.New("http://127.0.0.1:8080", client.WithToken(tok))
//	reply, err := c.Submit(ctx, cfg, 0)
//	job, err := c.Wait(ctx, reply.JobID) // follows /ws until the job ends
//
// Failed calls return a *Error carrying the HTTP status and the server's
// message; errors.Is matches it against ErrNotFound, ErrUnauthorized and the
// other sentinels. A server that cannot be reached at all gives an error
// matching ErrUnreachable.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/server/apitype"
)

// DefaultServer is where the server listens by default.
const DefaultServer = "http://127.0.0.1:8080"

// Client calls one simjobs apitype. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends "Authorization: Bearer token" with every request.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient uses h for requests instead of a default client.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client of the server at baseURL (http or https, optionally
// with a path prefix when the server sits behind a proxy).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port or https://host:port", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{base: u, http: &http.Client{Transport: http.DefaultTransport}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// URL is the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// Errors that failed calls match with errors.Is.
var (
	// ErrUnreachable: no connection to the server could be made.
	ErrUnreachable  = errors.New("server unreachable")
	ErrBadRequest   = errors.New("bad request")  // 400, 413
	ErrUnauthorized = errors.New("unauthorized") // 401: no or wrong token
	ErrForbidden    = errors.New("forbidden")    // 403: the role does not allow it
	ErrNotFound     = errors.New("not found")    // 404
	ErrConflict     = errors.New("conflict")     // 409: the job's state does not allow it
	ErrUnavailable  = errors.New("unavailable")  // 503: draining or shutting down
)

// Error is an answer other than success.
type Error struct {
	Method     string
	Path       string
	StatusCode int
	// Message is the server's explanation ("error" of the JSON body).
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("%s %s: %s (HTTP %d)", e.Method, e.Path, msg, e.StatusCode)
}

// Is matches the sentinel errors by status.
func (e *Error) Is(target error) bool {
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return target == ErrBadRequest
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusConflict:
		return target == ErrConflict
	case http.StatusServiceUnavailable:
		return target == ErrUnavailable
	}
	return false
}

// UnreachableError says the server could not be reached at all.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the simjobs server at %s: %v", e.URL, e.Err)
}

// Unwrap returns the network error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) hold.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// unreachable reports whether err means no connection was made: a refused
// or timed-out dial, an unknown host. An error after the request was sent
// is not one: the server may have acted on it.
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func (c *Client) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path += path
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// do sends one request. body is encoded as JSON unless it is nil or
// already []byte. The answer's body is decoded into out (JSON) unless out
// is nil; the response is returned for its headers.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) (*http.Response, []byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case json.RawMessage:
		raw = b
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		raw = js
	}
	// A server's rate limit answers 429 with Retry-After: a script
	// submitting a folder of projects slows down to the allowed rate
	// instead of failing.
	for try := 0; ; try++ {
		resp, data, err := c.doOnce(ctx, method, path, q, body != nil, raw, out)
		var e *Error
		if try >= maxRateRetries || !errors.As(err, &e) || e.StatusCode != http.StatusTooManyRequests {
			return resp, data, err
		}
		wait, werr := strconv.Atoi(resp.Header.Get("Retry-After"))
		if werr != nil || wait < 0 || wait > 60 {
			return resp, data, err
		}
		select {
		case <-ctx.Done():
			return resp, data, ctx.Err()
		case <-time.After(time.Duration(max(wait, 1)) * time.Second):
		}
	}
}

// maxRateRetries is how many times a request refused by the rate limit
// is sent again after the wait the server names.
const maxRateRetries = 5

func (c *Client) doOnce(ctx context.Context, method, path string, q url.Values, hasBody bool, raw []byte, out any) (*http.Response, []byte, error) {
	var r io.Reader
	if hasBody {
		r = bytes.NewReader(raw)
	}
	body := r
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path, q), r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if unreachable(err) {
			return nil, nil, &UnreachableError{URL: c.base.String(), Err: err}
		}
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, data, &Error{Method: method, Path: path, StatusCode: resp.StatusCode, Message: errorMessage(data)}
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, data, fmt.Errorf("%s %s: answer is not the JSON expected: %w", method, path, err)
		}
	}
	return resp, data, nil
}

// errorMessage finds the explanation in an error answer: the API's
// {"error": ...}, Engine.IO's {"message": ...}, or short plain text.
func errorMessage(data []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil {
		if e.Error != "" {
			return e.Error
		}
		return e.Message
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func jobPath(id string, rest ...string) string {
	return "/jobs/" + url.PathEscape(id) + strings.Join(rest, "")
}

// Submit submits a job: config is an HFSSSimulationConfig or a plain
// command object, as a map, a struct, or raw JSON.
func (c *Client) Submit(ctx context.Context, config any, priority int) (apitype.SubmitReply, error) {
	var cfg json.RawMessage
	switch v := config.(type) {
	case json.RawMessage:
		cfg = v
	case []byte:
		cfg = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return apitype.SubmitReply{}, fmt.Errorf("encode config: %w", err)
		}
		cfg = b
	}
	var out apitype.SubmitReply
	_, _, err := c.do(ctx, http.MethodPost, "/jobs/submit", nil, map[string]any{"config": cfg, "priority": priority}, &out)
	return out, err
}

// ListOptions filter and page Jobs.
type ListOptions struct {
	Statuses []apitype.Status // any of these; empty = all
	User     string
	Search   string // substring of id, user or project path
	// Limit is the page size; 0 takes the server's default (the newest
	// 10000 jobs when Offset is 0 too).
	Limit  int
	Offset int
	// Sweep lists only that sweep's jobs, in variation order.
	Sweep string
}

// JobPage is one page of the job list.
type JobPage struct {
	Jobs  []apitype.Job
	Total int // jobs matching the filter, all pages together
}

// Jobs lists jobs in submission order.
func (c *Client) Jobs(ctx context.Context, o ListOptions) (JobPage, error) {
	q := url.Values{}
	if len(o.Statuses) > 0 {
		s := make([]string, len(o.Statuses))
		for i, st := range o.Statuses {
			s[i] = string(st)
		}
		q.Set("status", strings.Join(s, ","))
	}
	if o.User != "" {
		q.Set("user", o.User)
	}
	if o.Search != "" {
		q.Set("q", o.Search)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if o.Sweep != "" {
		q.Set("sweep", o.Sweep)
	}
	var page JobPage
	resp, _, err := c.do(ctx, http.MethodGet, "/jobs", q, nil, &page.Jobs)
	if err != nil {
		return JobPage{}, err
	}
	page.Total, err = strconv.Atoi(resp.Header.Get("X-Total-Count"))
	if err != nil {
		page.Total = len(page.Jobs)
	}
	return page, nil
}

// Job returns the latest attempt of a job.
func (c *Client) Job(ctx context.Context, id string) (apitype.Job, error) {
	var j apitype.Job
	_, _, err := c.do(ctx, http.MethodGet, jobPath(id), nil, nil, &j)
	return j, err
}

// SubmitNotify submits a job with a notify spec ({"webhook": ..., "email":
// ..., "on": [...]}): who is told when it starts or ends.
func (c *Client) SubmitNotify(ctx context.Context, config any, priority int, notify any) (apitype.SubmitReply, error) {
	var out apitype.SubmitReply
	_, _, err := c.do(ctx, http.MethodPost, "/jobs/submit", nil, map[string]any{"config": config, "priority": priority, "notify": notify}, &out)
	return out, err
}

// JobHistory returns every attempt and status change of a job, and the
// notifications sent for it.
func (c *Client) JobHistory(ctx context.Context, id string) (apitype.JobHistory, error) {
	var h apitype.JobHistory
	_, _, err := c.do(ctx, http.MethodGet, jobPath(id, "/history"), nil, nil, &h)
	return h, err
}

// Cancel cancels a job. A job that already ended answers Success false with
// a nil error.
func (c *Client) Cancel(ctx context.Context, id string) (apitype.Reply, error) {
	var r apitype.Reply
	_, _, err := c.do(ctx, http.MethodPost, jobPath(id, "/cancel"), nil, nil, &r)
	return r, err
}

// SetPriority changes a queued job's priority.
func (c *Client) SetPriority(ctx context.Context, id string, priority int) (apitype.Reply, error) {
	var r apitype.Reply
	_, _, err := c.do(ctx, http.MethodPost, jobPath(id, "/priority"), nil, map[string]int{"priority": priority}, &r)
	return r, err
}

// LogOptions select part of a job's log.
type LogOptions struct {
	Stream  string // "stdout" (default) or "stderr"
	Offset  int64  // read from this byte
	Tail    int    // the last Tail lines (when Offset is 0)
	Attempt int    // default: the latest
	// Wait, when there is nothing past Offset yet and the job still runs,
	// has the server answer once the log grows, the job ends or Wait
	// passes (the server cuts it to a minute): a follower asks again at
	// once instead of on a clock. A server from before ?wait= answers at
	// once, as it does for an ended job: an empty Log says nothing about
	// how long it waited.
	Wait time.Duration
}

// Log is part of a job's log file.
type Log struct {
	Text []byte
	Size int64 // of the whole file
	Next int64 // the offset to read from next time
}

// Log reads a job's stdout or stderr.
func (c *Client) Log(ctx context.Context, id string, o LogOptions) (Log, error) {
	q := url.Values{}
	if o.Stream != "" {
		q.Set("stream", o.Stream)
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.FormatInt(o.Offset, 10))
	}
	if o.Tail > 0 {
		q.Set("tail", strconv.Itoa(o.Tail))
	}
	if o.Attempt > 0 {
		q.Set("attempt", strconv.Itoa(o.Attempt))
	}
	if o.Wait != 0 {
		q.Set("wait", o.Wait.String())
	}
	resp, data, err := c.do(ctx, http.MethodGet, jobPath(id, "/log"), q, nil, nil)
	if err != nil {
		return Log{}, err
	}
	l := Log{Text: data}
	l.Size, _ = strconv.ParseInt(resp.Header.Get("X-Log-Size"), 10, 64)
	l.Next, _ = strconv.ParseInt(resp.Header.Get("X-Log-Offset"), 10, 64)
	return l, nil
}

// LogSummary reads what a job's solver log says (GET /api/jobs/{id}/log):
// the solver, the phase, the adaptive passes, the sweep, warnings and
// errors. attempt 0 is the latest. ok is false while the job has no solver
// output yet (the server answers 204).
func (c *Client) LogSummary(ctx context.Context, id string, attempt int) (s apitype.LogSummary, ok bool, err error) {
	q := url.Values{}
	if attempt > 0 {
		q.Set("attempt", strconv.Itoa(attempt))
	}
	resp, _, err := c.do(ctx, http.MethodGet, "/api/jobs/"+url.PathEscape(id)+"/log", q, nil, &s)
	if err != nil {
		return apitype.LogSummary{}, false, err
	}
	return s, resp.StatusCode != http.StatusNoContent, nil
}

// Resources returns the host telemetry.
func (c *Client) Resources(ctx context.Context) (apitype.HostSample, error) {
	var s apitype.HostSample
	_, _, err := c.do(ctx, http.MethodGet, "/resources", nil, nil, &s)
	return s, err
}

// Licenses returns what the license servers said at the last poll
// (GET /api/licenses); no servers and no features without --license-apitype.
func (c *Client) Licenses(ctx context.Context) (apitype.LicenseReport, error) {
	var r apitype.LicenseReport
	_, _, err := c.do(ctx, http.MethodGet, "/api/licenses", nil, nil, &r)
	return r, err
}

// Queue returns the queue statistics.
func (c *Client) Queue(ctx context.Context) (apitype.QueueReply, error) {
	var q apitype.QueueReply
	_, _, err := c.do(ctx, http.MethodGet, "/queue", nil, nil, &q)
	return q, err
}

// Limits returns the limits in force.
func (c *Client) Limits(ctx context.Context) (apitype.Limits, error) {
	var l apitype.Limits
	_, _, err := c.do(ctx, http.MethodGet, "/pool/limits", nil, nil, &l)
	return l, err
}

// SetLimits changes the limits given (nil fields stay); it needs the admin
// role.
func (c *Client) SetLimits(ctx context.Context, p apitype.LimitsPatch) (apitype.LimitsReply, error) {
	var r apitype.LimitsReply
	_, _, err := c.do(ctx, http.MethodPut, "/pool/limits", nil, p, &r)
	return r, err
}

// SystemStatus returns the mode, scheduler detection, monitoring and pool.
func (c *Client) SystemStatus(ctx context.Context) (apitype.StatusReply, error) {
	var s apitype.StatusReply
	_, _, err := c.do(ctx, http.MethodGet, "/system/status", nil, nil, &s)
	return s, err
}

// StartMonitoring asks for a fresh telemetry sample (admin).
func (c *Client) StartMonitoring(ctx context.Context) (apitype.Reply, error) {
	var r apitype.Reply
	_, _, err := c.do(ctx, http.MethodPost, "/system/start_monitoring", nil, nil, &r)
	return r, err
}

// Drain starts the server's graceful drain (admin).
func (c *Client) Drain(ctx context.Context) (apitype.Reply, error) {
	var r apitype.Reply
	_, _, err := c.do(ctx, http.MethodPost, "/system/drain", nil, nil, &r)
	return r, err
}

// Audit returns the audit trail of limits changes and drains, newest
// first (admin): at most limit entries (0: 100) with ids below before (0:
// from the newest).
func (c *Client) Audit(ctx context.Context, limit int, before int64) ([]apitype.AuditEntry, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	var list []apitype.AuditEntry
	_, _, err := c.do(ctx, http.MethodGet, "/api/audit", q, nil, &list)
	return list, err
}

// Partitions describes the cluster's partitions; a server without a
// scheduler answers ErrBadRequest.
func (c *Client) Partitions(ctx context.Context) ([]apitype.Partition, error) {
	var p []apitype.Partition
	_, _, err := c.do(ctx, http.MethodGet, "/scheduler/partitions", nil, nil, &p)
	return p, err
}

// ClusterPartitions is Partitions as the PyEDB UI asks for it: empty
// without a scheduler.
func (c *Client) ClusterPartitions(ctx context.Context) ([]apitype.Partition, error) {
	var p []apitype.Partition
	_, _, err := c.do(ctx, http.MethodGet, "/api/cluster_partitions", nil, nil, &p)
	return p, err
}

// SchedulerType says where jobs run: "none" (the server's host), "slurm", ...
func (c *Client) SchedulerType(ctx context.Context) (string, error) {
	var r apitype.SchedulerType
	_, _, err := c.do(ctx, http.MethodGet, "/api/scheduler_type", nil, nil, &r)
	return r.SchedulerType, err
}

// Me returns the caller's identity.
func (c *Client) Me(ctx context.Context) (apitype.Me, error) {
	var m apitype.Me
	_, _, err := c.do(ctx, http.MethodGet, "/api/me", nil, nil, &m)
	return m, err
}

// Health checks liveness (/healthz).
func (c *Client) Health(ctx context.Context) error {
	_, _, err := c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
	return err
}

// Ready checks readiness (/readyz): ErrUnavailable while draining.
func (c *Client) Ready(ctx context.Context) error {
	_, _, err := c.do(ctx, http.MethodGet, "/readyz", nil, nil, nil)
	return err
}

// Metrics returns the Prometheus metrics text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	_, data, err := c.do(ctx, http.MethodGet, "/metrics", nil, nil, nil)
	return string(data), err
}

// OpenAPI returns the server's OpenAPI document.
func (c *Client) OpenAPI(ctx context.Context) (json.RawMessage, error) {
	_, data, err := c.do(ctx, http.MethodGet, "/openapi.json", nil, nil, nil)
	return data, err
}

// pollEvery is how often Wait re-reads a job when the event stream is not
// available (a proxy that refuses WebSockets).
const pollEvery = 2 * time.Second
