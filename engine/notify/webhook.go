package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// Sign is the X-Simjobs-Signature value of a body: "sha256=" and the hex
// HMAC-SHA256 of the body under the secret, as GitHub signs its webhooks.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature in constant time (what a receiver does).
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// webhookClient posts webhooks through a dialer that applies the allow
// list to every address it connects to.
type webhookClient struct {
	allow *AllowList
	http  *http.Client
}

func newWebhookClient(allow *AllowList, timeout time.Duration) *webhookClient {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: allow.Control}
	tr := &http.Transport{
		// No proxy: a proxy would dial for us, past the address rule.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       time.Minute,
		ForceAttemptHTTP2:     true,
	}
	return &webhookClient{allow: allow, http: &http.Client{
		Transport: tr,
		// A redirect could lead anywhere; the receiver must answer itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *webhookClient) send(ctx context.Context, d engine.Delivery, secret, agent string) result {
	u, err := c.allow.CheckURL(d.Target)
	if err != nil {
		return result{err: err, permanent: true}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(d.Payload))
	if err != nil {
		return result{err: err, permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", agent)
	req.Header.Set("X-Simjobs-Event", d.Event)
	req.Header.Set("X-Simjobs-Delivery", d.ID)
	if secret != "" {
		req.Header.Set("X-Simjobs-Signature", Sign(secret, d.Payload))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return result{err: err, permanent: true}
		}
		return result{err: fmt.Errorf("post: %w", err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return result{code: code}
	case code >= 300 && code < 400:
		return result{code: code, err: fmt.Errorf("HTTP %d: redirects are not followed", code), permanent: true}
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return result{code: code, err: fmt.Errorf("HTTP %d", code)}
	}
	return result{code: code, err: fmt.Errorf("HTTP %d: refused by the receiver", code), permanent: true}
}
