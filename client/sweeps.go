package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/simjobs/simjobs/server/apitype"
)

// SubmitOptions are what a submission may carry besides its config.
type SubmitOptions struct {
	Priority  int
	DependsOn []apitype.Dependency
	Retry     *apitype.RetryPolicy
	// Notify is the submission's "notify" object (webhook, e-mail, events).
	Notify any
}

// SubmitWith submits a job like Submit, with dependencies and a retry
// policy.
func (c *Client) SubmitWith(ctx context.Context, config any, o SubmitOptions) (apitype.SubmitReply, error) {
	cfg, err := rawJSON(config)
	if err != nil {
		return apitype.SubmitReply{}, fmt.Errorf("encode config: %w", err)
	}
	body := map[string]any{"config": cfg, "priority": o.Priority}
	if len(o.DependsOn) > 0 {
		body["depends_on"] = o.DependsOn
	}
	if o.Retry != nil {
		body["retry"] = o.Retry
	}
	if o.Notify != nil {
		body["notify"] = o.Notify
	}
	var out apitype.SubmitReply
	_, _, err = c.do(ctx, http.MethodPost, "/api/submit", nil, body, &out)
	return out, err
}

func rawJSON(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case json.RawMessage:
		return v, nil
	case []byte:
		return v, nil
	}
	return json.Marshal(v)
}

// SubmitSweep submits a sweep: body is the POST /api/sweeps object
// (name, template, parameters, mode, max_parallel, priority, retry), as a
// value to encode or as JSON.
func (c *Client) SubmitSweep(ctx context.Context, body any) (apitype.SweepReply, error) {
	raw, err := rawJSON(body)
	if err != nil {
		return apitype.SweepReply{}, fmt.Errorf("encode sweep: %w", err)
	}
	var out apitype.SweepReply
	_, _, err = c.do(ctx, http.MethodPost, "/api/sweeps", nil, raw, &out)
	return out, err
}

// SweepPage is one page of the sweep list.
type SweepPage struct {
	Sweeps []apitype.Sweep
	Total  int
}

// Sweeps lists sweeps, newest first.
func (c *Client) Sweeps(ctx context.Context, user string, limit, offset int) (SweepPage, error) {
	q := url.Values{}
	if user != "" {
		q.Set("user", user)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	var page SweepPage
	resp, _, err := c.do(ctx, http.MethodGet, "/api/sweeps", q, nil, &page.Sweeps)
	if err != nil {
		return SweepPage{}, err
	}
	if page.Total, err = strconv.Atoi(resp.Header.Get("X-Total-Count")); err != nil {
		page.Total = len(page.Sweeps)
	}
	return page, nil
}

// Sweep returns one sweep with its counts and job ids.
func (c *Client) Sweep(ctx context.Context, id string) (apitype.Sweep, error) {
	var sw apitype.Sweep
	_, _, err := c.do(ctx, http.MethodGet, "/api/sweeps/"+url.PathEscape(id), nil, nil, &sw)
	return sw, err
}

// CancelSweep cancels every job of a sweep not yet ended.
func (c *Client) CancelSweep(ctx context.Context, id string) (apitype.SweepCancelReply, error) {
	var out apitype.SweepCancelReply
	_, _, err := c.do(ctx, http.MethodPost, "/api/sweeps/"+url.PathEscape(id)+"/cancel", nil, nil, &out)
	return out, err
}

// ResubmitSweep submits the sweep's failed and cancelled jobs again.
func (c *Client) ResubmitSweep(ctx context.Context, id string) (apitype.SweepReply, error) {
	var out apitype.SweepReply
	_, _, err := c.do(ctx, http.MethodPost, "/api/sweeps/"+url.PathEscape(id)+"/resubmit", nil, nil, &out)
	return out, err
}
