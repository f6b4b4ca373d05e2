package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/simjobs/simjobs/engine"
)

// spec is a job's (or a sweep's) "notify" object:
//
//	{"webhook": "https://...", "email": "me@example.com" | true, "on": ["completed", ...]}
//
// email true is the submitter's own address (the tokens file's fourth
// field). on defaults to the three ends.
type spec struct {
	Webhook string
	Email   string
	EmailMe bool
	On      []string
}

// specJSON is the stored form: the submitted form, normalised.
type specJSON struct {
	Webhook string          `json:"webhook,omitempty"`
	Email   json.RawMessage `json:"email,omitempty"`
	On      []string        `json:"on,omitempty"`
}

func (s spec) MarshalJSON() ([]byte, error) {
	j := specJSON{Webhook: s.Webhook, On: s.On}
	switch {
	case s.Email != "":
		j.Email, _ = json.Marshal(s.Email)
	case s.EmailMe:
		j.Email = json.RawMessage("true")
	}
	return json.Marshal(j)
}

func (s *spec) UnmarshalJSON(b []byte) error {
	var j specJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = spec{Webhook: j.Webhook, On: j.On}
	if len(j.Email) > 0 && json.Unmarshal(j.Email, &s.EmailMe) != nil {
		return json.Unmarshal(j.Email, &s.Email)
	}
	return nil
}

var defaultOn = []string{EventCompleted, EventFailed, EventCancelled}

func (s spec) wants(event string) bool {
	on := s.On
	if len(on) == 0 {
		on = defaultOn
	}
	return slices.Contains(on, event)
}

// parseStored reads a spec as CheckNotify stored it.
func parseStored(raw []byte) (spec, error) {
	var s spec
	if len(raw) == 0 {
		return s, nil
	}
	err := json.Unmarshal(raw, &s)
	return s, err
}

// CheckNotify implements engine.NotifyChecker: it checks a submission's
// notify field and returns the spec to store. Every error is an
// *engine.ValidationError naming the field.
func (n *Notifier) CheckNotify(raw json.RawMessage) (json.RawMessage, error) {
	return checkSpec(raw, n.o.Allow)
}

func checkSpec(raw json.RawMessage, allow *AllowList) (json.RawMessage, error) {
	bad := func(field, format string, args ...any) error {
		return &engine.ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, bad("notify", "must be an object like {\"webhook\": \"https://...\", \"on\": [\"completed\"]}")
	}
	var s spec
	for k, v := range obj {
		switch k {
		case "webhook":
			if err := json.Unmarshal(v, &s.Webhook); err != nil {
				return nil, bad("notify.webhook", "must be a string")
			}
			if s.Webhook == "" {
				continue
			}
			if _, err := allow.CheckURL(s.Webhook); err != nil {
				return nil, bad("notify.webhook", "%v", err)
			}
		case "email":
			var me bool
			if json.Unmarshal(v, &me) == nil {
				s.EmailMe = me
				continue
			}
			if err := json.Unmarshal(v, &s.Email); err != nil {
				return nil, bad("notify.email", "must be an address or true (your own address)")
			}
			if s.Email == "" {
				continue
			}
			if err := checkAddress(s.Email); err != nil {
				return nil, bad("notify.email", "%v", err)
			}
		case "on":
			if err := json.Unmarshal(v, &s.On); err != nil {
				return nil, bad("notify.on", "must be an array of event names")
			}
			for _, e := range s.On {
				switch e {
				case EventStarted, EventCompleted, EventFailed, EventCancelled:
				default:
					return nil, bad("notify.on", "%q is not one of started, completed, failed, cancelled", e)
				}
			}
			if len(s.On) == 0 {
				return nil, bad("notify.on", "is empty; leave it out for completed, failed and cancelled")
			}
			slices.Sort(s.On)
			s.On = slices.Compact(s.On)
		default:
			return nil, bad("notify."+k, "is not a notify field (webhook, email, on)")
		}
	}
	if s.Webhook == "" && s.Email == "" && !s.EmailMe {
		return nil, bad("notify", "names no destination: give webhook or email")
	}
	return json.Marshal(s)
}

// checkAddress accepts one bare address (no display name, no line breaks:
// it goes into a mail header).
func checkAddress(a string) error {
	if len(a) > 254 || strings.ContainsAny(a, "\r\n<>,;\"") {
		return fmt.Errorf("%q is not a plain e-mail address", a)
	}
	p, err := mail.ParseAddress(a)
	if err != nil || p.Address != a || !strings.Contains(a, "@") {
		return fmt.Errorf("%q is not a plain e-mail address", a)
	}
	return nil
}

// configEmail is an HFSS config's scheduler_options.email_notification
// ("" when absent or not a plain address).
func configEmail(config json.RawMessage) string {
	if len(config) == 0 || !bytes.Contains(config, []byte("email_notification")) {
		return ""
	}
	var c struct {
		SchedulerOptions struct {
			Email string `json:"email_notification"`
		} `json:"scheduler_options"`
	}
	if json.Unmarshal(config, &c) != nil {
		return ""
	}
	return strings.TrimSpace(c.SchedulerOptions.Email)
}

// redact shows a URL without its user, path and query (for Slack and
// Teams incoming webhooks, the path is the secret).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/…"
	}
	return out
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// Checker is an engine.NotifyChecker on its own, for the engine to use
// before the Notifier (which needs the engine) exists.
type Checker struct{ Allow *AllowList }

// CheckNotify implements engine.NotifyChecker.
func (c Checker) CheckNotify(raw json.RawMessage) (json.RawMessage, error) {
	allow := c.Allow
	if allow == nil {
		allow = &AllowList{}
	}
	return checkSpec(raw, allow)
}
