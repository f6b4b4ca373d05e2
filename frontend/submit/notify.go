package submit

import (
	"encoding/json"
	"strings"

	"github.com/simjobs/simjobs/engine"
)

// NotifyWebhookField is the form field of the webhook told when the job ends.
const NotifyWebhookField = "notify_webhook"

// notifySpec is the submission's notify object for a webhook URL typed in
// the form, nil when none was.
func notifySpec(webhook string) json.RawMessage {
	webhook = strings.TrimSpace(webhook)
	if webhook == "" {
		return nil
	}
	b, _ := json.Marshal(map[string]string{"webhook": webhook})
	return b
}

// notifyFailed puts a refused notify field next to the form's field; it
// reports whether the error was about it.
func notifyFailed(ve *engine.ValidationError, errs map[string]string) bool {
	if !strings.HasPrefix(ve.Field, "notify") {
		return false
	}
	errs[NotifyWebhookField] = ve.Message
	return true
}
