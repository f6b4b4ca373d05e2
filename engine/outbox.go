package engine

import (
	"context"
	"encoding/json"
	"time"
)

// Outbox is the durable side of notifications (engine/notify): a store that
// implements it next to Store keeps every notification that is owed until it
// is delivered or given up, across crashes and restarts.
//
// The source of notifications is the transitions table itself: every status
// change is already committed in the same transaction as the job's update,
// so a job's end can never be acknowledged without its record. The notifier
// reads transitions after a cursor and turns them into deliveries with
// DeliveryInsert, which moves the cursor in the same transaction: a crash
// between the two repeats the fan-out, never loses it.
type Outbox interface {
	// TransitionListAfter returns status changes committed after the
	// cursor, oldest first, at most p.Limit of them.
	TransitionListAfter(ctx context.Context, p TransitionListAfterParams) ([]TransitionRow, error)
	// OutboxCursorGet is the position up to which transitions have been
	// turned into deliveries.
	OutboxCursorGet(ctx context.Context) (int64, error)
	// DeliveryInsert stores deliveries (an id already stored is left as it
	// is, so a repeated fan-out adds nothing) and, when p.Cursor is above
	// the stored cursor, moves the cursor to it, in one transaction.
	DeliveryInsert(ctx context.Context, p DeliveryInsertParams) error
	// DeliveryListDue returns pending deliveries whose next attempt is due
	// at p.Now, soonest first.
	DeliveryListDue(ctx context.Context, p DeliveryListDueParams) ([]Delivery, error)
	// DeliveryNextDue is when the soonest pending delivery is due; ok is
	// false when none is pending.
	DeliveryNextDue(ctx context.Context) (at time.Time, ok bool, err error)
	// DeliveryUpdate records an attempt at a pending delivery. ErrStale if
	// the delivery is no longer pending; ErrNotFound if unknown.
	DeliveryUpdate(ctx context.Context, p DeliveryUpdateParams) error
	// DeliveryList returns the deliveries of a job (all attempts), or of a
	// sweep, oldest first.
	DeliveryList(ctx context.Context, p DeliveryListParams) ([]Delivery, error)
	// NotifySpecGet returns the notify spec a job attempt was submitted
	// with; nil when it had none.
	NotifySpecGet(ctx context.Context, id string, attempt int) (json.RawMessage, error)
}

// TransitionRow is a Transition with its position in commit order.
type TransitionRow struct {
	Transition
	Seq int64
}

// TransitionListAfterParams pages TransitionListAfter.
type TransitionListAfterParams struct {
	After int64
	Limit int // 0 = 1000
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // given up: refused for good, or out of time
)

// Delivery is one notification owed to one destination.
type Delivery struct {
	// ID is unique and stable across retries: receivers drop repeats by it
	// (the X-Simjobs-Delivery header).
	ID      string `json:"id"`
	JobID   string `json:"job_id,omitempty"`
	Attempt int    `json:"attempt,omitempty"` // of the job
	SweepID string `json:"sweep_id,omitempty"`
	// Event is what happened: started, completed, failed, cancelled,
	// sweep_ended.
	Event string `json:"event"`
	// Channel is webhook or email; Target the URL or the address.
	Channel string `json:"channel"`
	Target  string `json:"-"`
	// Display is Target as shown to people (a webhook URL without its
	// path, which for Slack or Teams is the secret).
	Display string `json:"to"`
	// Payload is what is sent: the JSON body, or the mail (headers and
	// text), fixed at fan-out so that every retry sends the same bytes.
	Payload []byte `json:"-"`

	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	Created     time.Time  `json:"created"`
	NextAttempt time.Time  `json:"next_attempt"`
	LastAttempt *time.Time `json:"last_attempt"`
	// LastError is why the last attempt failed ("" after a success).
	LastError string `json:"last_error"`
	// LastCode is the HTTP status or SMTP reply code of the last attempt
	// (0 when there was no answer).
	LastCode int `json:"last_code"`
}

// DeliveryInsertParams is a fan-out to store.
type DeliveryInsertParams struct {
	// Cursor, when above the stored cursor, becomes it.
	Cursor     int64
	Deliveries []Delivery
}

// DeliveryListDueParams selects due deliveries.
type DeliveryListDueParams struct {
	Now   time.Time
	Limit int // 0 = 100
}

// DeliveryUpdateParams records one attempt at a delivery.
type DeliveryUpdateParams struct {
	ID          string
	Status      string // the new status
	Time        time.Time
	NextAttempt time.Time // for pending
	Error       string
	Code        int
}

// DeliveryListParams selects a job's or a sweep's deliveries.
type DeliveryListParams struct {
	JobID   string
	SweepID string
}

// NotifyChecker checks the notify field of a submission (engine/notify
// implements it): it returns the normalised spec to store, or a
// *ValidationError naming the field.
type NotifyChecker interface {
	CheckNotify(raw json.RawMessage) (json.RawMessage, error)
}

// Deliveries returns the notifications owed or sent for a job, when the
// store keeps an outbox (nil otherwise).
func (m *Manager) Deliveries(ctx context.Context, id string) ([]Delivery, error) {
	ob, ok := m.store.(Outbox)
	if !ok {
		return nil, nil
	}
	return ob.DeliveryList(ctx, DeliveryListParams{JobID: id})
}

// checkNotify checks a submission's notify field; absent or null is none.
func (m *Manager) checkNotify(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if m.notify == nil {
		return nil, &ValidationError{Field: "notify", Message: "is not available on this server"}
	}
	return m.notify.CheckNotify(raw)
}
