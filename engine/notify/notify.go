// Package notify tells people when jobs end: webhooks (signed JSON, Slack
// and Teams compatible) and e-mail, delivered at least once from the
// store's durable outbox (engine.Outbox), retried with exponential backoff,
// in a component of its own that the engine never waits for.
//
// The notifier reads status changes from the store after a cursor, turns
// each into the deliveries it owes (server-wide --webhook URLs, the job's
// own "notify" spec, its scheduler_options.email_notification) and stores
// them while moving the cursor, in one transaction. A crash anywhere
// repeats work, never loses it; every delivery carries a stable id so
// receivers can drop repeats.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/solverlog"
)

// Events a notification can be about.
const (
	EventStarted    = "started"
	EventCompleted  = "completed"
	EventFailed     = "failed"
	EventCancelled  = "cancelled"
	EventSweepEnded = "sweep_ended"
)

// Channels.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// Jobs is what the notifier reads about jobs (engine.Manager has it).
type Jobs interface {
	Attempts(ctx context.Context, id string) ([]engine.Job, error)
	LogSummary(ctx context.Context, id string, attempt int) (solverlog.Summary, bool, error)
}

// Sweeps reads sweeps, for the notification owed when one ends (the
// engine's sweep_ended event).
type Sweeps interface {
	Sweep(ctx context.Context, id string) (engine.Sweep, error)
	Sweeps(ctx context.Context, p engine.SweepListParams) ([]engine.Sweep, error)
}

// Options configure a Notifier.
type Options struct {
	// Outbox is the store's outbox. Required.
	Outbox engine.Outbox
	// Jobs reads job records and solver log summaries. Required.
	Jobs Jobs
	// Sweeps, when set, makes a sweep's end (Events' sweep_ended) a
	// notification to the server-wide webhooks and the sweep's own notify
	// object; see SweepEnded.
	Sweeps Sweeps
	// Events wakes the notifier when jobs change; nil relies on Poll.
	Events *engine.Bus
	// Webhooks get every job's end and every sweep's end.
	Webhooks []string
	// Secret signs webhook bodies (X-Simjobs-Signature); "" sends none.
	Secret string
	// Allow bounds where webhooks go; nil is an empty list (public
	// addresses only).
	Allow *AllowList
	// SMTP, when set, sends mail; nil records mail as undeliverable.
	SMTP *SMTP
	// UserEmail is a user's own address ("" when unknown).
	UserEmail func(user string) string
	// PublicURL is the dashboard's address as recipients reach it
	// (links to job pages).
	PublicURL string
	// Timeout bounds one delivery attempt (default 10 s).
	Timeout time.Duration
	// BackoffBase is the wait after the first failed attempt, doubling
	// after each next one up to BackoffMax (defaults 30 s and 1 h).
	BackoffBase, BackoffMax time.Duration
	// GiveUpAfter is how long a delivery is retried (default 24 h).
	GiveUpAfter time.Duration
	// Poll is how often the outbox is looked at without being woken
	// (default 5 s).
	Poll time.Duration
	// Workers deliver at once (default 4).
	Workers int
	// UserAgent is sent with webhooks.
	UserAgent string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Notifier is the delivery component: New, Start, Stop.
type Notifier struct {
	o      Options
	client *webhookClient
	log    *slog.Logger

	// cursor is how far status changes have been read, saved how far
	// the store knows it (the loop's goroutine only).
	cursor, saved int64
	savedAt       time.Time
	cursorRead    bool

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New checks the options. The notifier does nothing until Start.
func New(o Options) (*Notifier, error) {
	if o.Outbox == nil || o.Jobs == nil {
		return nil, errors.New("notify: Outbox and Jobs are required")
	}
	if o.Allow == nil {
		o.Allow = &AllowList{}
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 30 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Hour
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 24 * time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.UserAgent == "" {
		o.UserAgent = "simjobs"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UserEmail == nil {
		o.UserEmail = func(string) string { return "" }
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	for _, w := range o.Webhooks {
		if _, err := o.Allow.CheckURL(w); err != nil {
			return nil, fmt.Errorf("notify: webhook %s: %w", redact(w), err)
		}
	}
	return &Notifier{o: o, client: newWebhookClient(o.Allow, o.Timeout), log: o.Logger, kick: make(chan struct{}, 1)}, nil
}

// Start runs the delivery loop until Stop.
func (n *Notifier) Start(ctx context.Context) {
	ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	n.done = make(chan struct{})
	go n.run(ctx)
}

// Stop ends the loop and waits for it; deliveries in flight are abandoned
// (and retried after the next start). Stopping twice is harmless.
func (n *Notifier) Stop() {
	n.once.Do(func() {
		if n.cancel == nil {
			return
		}
		n.cancel()
		<-n.done
	})
}

// Wake makes the loop look at the outbox now; it never blocks.
func (n *Notifier) Wake() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *Notifier) run(ctx context.Context) {
	defer close(n.done)
	var sub *engine.Subscription
	subscribe := func() {
		if n.o.Events != nil {
			sub = n.o.Events.Subscribe(-1, 256)
		}
	}
	subscribe()
	defer func() {
		if sub != nil {
			sub.Close()
		}
	}()
	// The sweep_ended event is not stored: a sweep that ended while no
	// notifier listened (a crash between its last job's end and the
	// event) is caught up here. Delivery ids are the sweep's, so one
	// already owed is not owed again.
	n.catchUpSweeps(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		n.fanOut(ctx)
		n.sendDue(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := n.o.Poll
		if next, ok, err := n.o.Outbox.DeliveryNextDue(ctx); err == nil && ok {
			// Not less than a few milliseconds: a store that cannot
			// record an attempt must not make this spin.
			wait = min(wait, max(next.Sub(n.o.Now()), 5*time.Millisecond))
		}
		timer.Reset(wait)
		var events <-chan engine.Event
		if sub != nil {
			events = sub.C
		}
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		case <-timer.C:
		case ev, ok := <-events:
			if !ok {
				sub.Close()
				subscribe()
				n.catchUpSweeps(ctx) // events may have been missed
				continue
			}
			n.onEvent(ctx, ev)
			if !wakes(ev.Name) {
				// Progress and telemetry events are frequent: wait for
				// one that can owe a notification.
				n.drainUntilWake(ctx, sub, timer)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// drainUntilWake waits for an event that can owe a notification, a kick or
// the timer.
func (n *Notifier) drainUntilWake(ctx context.Context, sub *engine.Subscription, timer *time.Timer) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
			return
		case <-timer.C:
			return
		case ev, ok := <-sub.C:
			if ok {
				n.onEvent(ctx, ev)
			}
			if !ok || wakes(ev.Name) {
				return
			}
		}
	}
}

// onEvent owes the notification of a sweep that ended.
func (n *Notifier) onEvent(ctx context.Context, ev engine.Event) {
	if ev.Name != engine.EventSweepEnded || n.o.Sweeps == nil {
		return
	}
	if d, ok := ev.Data.(engine.SweepEndedData); ok {
		n.sweepEnded(ctx, d.SweepID)
	}
}

// sweepCatchUp bounds the start-up look for sweeps that ended unnotified:
// the newest sweeps, ended within the retry window.
const sweepCatchUp = 200

func (n *Notifier) catchUpSweeps(ctx context.Context) {
	if n.o.Sweeps == nil {
		return
	}
	list, err := n.o.Sweeps.Sweeps(ctx, engine.SweepListParams{Limit: sweepCatchUp})
	if err != nil {
		n.o.Logger.Error("notify: list sweeps", "err", err)
		return
	}
	since := n.o.Now().Add(-n.o.GiveUpAfter)
	for _, sw := range list {
		if sw.EndTime != nil && sw.EndTime.After(since) {
			n.notifySweep(ctx, sw)
		}
	}
}

func (n *Notifier) sweepEnded(ctx context.Context, id string) {
	sw, err := n.o.Sweeps.Sweep(ctx, id)
	if err != nil {
		n.o.Logger.Error("notify: read sweep", "sweep", id, "err", err)
		return
	}
	if sw.EndTime != nil {
		n.notifySweep(ctx, sw)
	}
}

func (n *Notifier) notifySweep(ctx context.Context, sw engine.Sweep) {
	counts := make(map[string]int, len(sw.Counts))
	for st, c := range sw.Counts {
		counts[string(st)] = c
	}
	err := n.SweepEnded(ctx, SweepSummary{ID: sw.ID, Name: sw.Name, User: sw.User, Total: sw.Total,
		Counts: counts, EndTime: *sw.EndTime, Notify: sw.Notify})
	if err != nil {
		n.o.Logger.Error("notify: sweep ended", "sweep", sw.ID, "err", err)
	}
}

func wakes(event string) bool {
	switch event {
	case engine.EventJobStarted, engine.EventJobCompleted, engine.EventJobFailed, engine.EventJobCancelled:
		return true
	}
	return false
}

// fanOut turns the status changes after the cursor into deliveries.
//
// The cursor is kept in memory and stored with the deliveries it owes, or
// every cursorSaveEvery rows, or once things are quiet: a crash then
// reads some status changes again, which is harmless (delivery ids are
// derived from the job, attempt and event, and a stored id is kept as it
// is), and a long run of changes owing nothing costs no write per page.
func (n *Notifier) fanOut(ctx context.Context) {
	if !n.cursorRead {
		c, err := n.o.Outbox.OutboxCursorGet(ctx)
		if err != nil {
			n.log.Warn("notify: read the outbox cursor", "err", err)
			return
		}
		n.cursor, n.saved, n.savedAt, n.cursorRead = c, c, n.o.Now(), true
	}
	for ctx.Err() == nil {
		rows, err := n.o.Outbox.TransitionListAfter(ctx, engine.TransitionListAfterParams{After: n.cursor, Limit: 1000})
		if err != nil {
			n.log.Warn("notify: read status changes", "err", err)
			return
		}
		if len(rows) == 0 {
			if n.cursor > n.saved && n.o.Now().Sub(n.savedAt) >= cursorSaveAfter {
				if err := n.o.Outbox.DeliveryInsert(ctx, engine.DeliveryInsertParams{Cursor: n.cursor}); err == nil {
					n.saved, n.savedAt = n.cursor, n.o.Now()
				}
			}
			return
		}
		var ds []engine.Delivery
		for _, tr := range rows {
			more, err := n.deliveriesFor(ctx, tr)
			if errors.Is(err, engine.ErrNotFound) {
				// Nothing to tell of a job that is not there; waiting
				// would hold every later notification back.
				n.log.Warn("notify: status change of an unknown job", "job", tr.JobID, "attempt", tr.Attempt)
				continue
			}
			if err != nil {
				// Try again at the next round rather than lose it.
				n.log.Warn("notify: build notifications", "job", tr.JobID, "err", err)
				return
			}
			ds = append(ds, more...)
		}
		last := rows[len(rows)-1].Seq
		if len(ds) > 0 || last-n.saved >= cursorSaveEvery {
			if err := n.o.Outbox.DeliveryInsert(ctx, engine.DeliveryInsertParams{Cursor: last, Deliveries: ds}); err != nil {
				n.log.Warn("notify: store notifications", "err", err)
				return
			}
			n.saved, n.savedAt = last, n.o.Now()
		}
		n.cursor = last
	}
}

// cursorSaveEvery and cursorSaveAfter bound how many status changes a
// restart reads again: a cursor owing no delivery is saved after that many
// rows, or when the changes pause and it has not been saved for a while.
const (
	cursorSaveEvery = 10000
	cursorSaveAfter = 30 * time.Second
)

// eventOf names the notification a status change owes, "" for none.
func eventOf(st engine.Status) string {
	switch st {
	case engine.StatusRunning:
		return EventStarted
	case engine.StatusCompleted, engine.StatusFailed, engine.StatusCancelled:
		return string(st)
	}
	return ""
}

// deliveriesFor is what one status change owes.
func (n *Notifier) deliveriesFor(ctx context.Context, tr engine.TransitionRow) ([]engine.Delivery, error) {
	event := eventOf(tr.Status)
	if event == "" {
		return nil, nil
	}
	spec, err := n.o.Outbox.NotifySpecGet(ctx, tr.JobID, tr.Attempt)
	if err != nil {
		return nil, err
	}
	s, err := parseStored(spec)
	if err != nil {
		n.log.Warn("notify: stored notify spec unreadable", "job", tr.JobID, "err", err)
	}
	terminal := event != EventStarted
	type target struct{ channel, to string }
	var targets []target
	seen := map[target]bool{}
	add := func(t target) {
		if t.to != "" && !seen[t] {
			seen[t] = true
			targets = append(targets, t)
		}
	}
	if terminal {
		for _, w := range n.o.Webhooks {
			add(target{ChannelWebhook, w})
		}
	}
	if s.Webhook != "" && s.wants(event) {
		add(target{ChannelWebhook, s.Webhook})
	}
	var job *engine.Job
	loadJob := func() error {
		if job != nil {
			return nil
		}
		attempts, err := n.o.Jobs.Attempts(ctx, tr.JobID)
		if err != nil {
			return err
		}
		for i := range attempts {
			if attempts[i].Attempt == tr.Attempt {
				job = &attempts[i]
				return nil
			}
		}
		return fmt.Errorf("job %s has no attempt %d: %w", tr.JobID, tr.Attempt, engine.ErrNotFound)
	}
	if s.wants(event) && (s.EmailMe || s.Email != "") {
		if err := loadJob(); err != nil {
			return nil, err
		}
		if s.Email != "" {
			add(target{ChannelEmail, s.Email})
		}
		if s.EmailMe {
			add(target{ChannelEmail, n.o.UserEmail(job.User)})
		}
	}
	if terminal {
		if err := loadJob(); err != nil {
			return nil, err
		}
		// A cluster job's scheduler mails it already (--mail-user and
		// the like): only jobs that ran here get it from us.
		if job.SchedulerJobID == nil {
			add(target{ChannelEmail, configEmail(job.Config)})
		}
	}
	if len(targets) == 0 {
		return nil, nil
	}
	if err := loadJob(); err != nil {
		return nil, err
	}
	sum := n.summarize(ctx, *job, tr)
	now := n.o.Now().UTC()
	var out []engine.Delivery
	for _, t := range targets {
		d := engine.Delivery{
			// Derived from what it is about and where it goes, so that
			// reading a status change again owes nothing new.
			ID:    fmt.Sprintf("%s.%d.%s.%s", tr.JobID, tr.Attempt, event, shortHash(t.channel+" "+t.to)),
			JobID: tr.JobID, Attempt: tr.Attempt, Event: event, Channel: t.channel, Target: t.to,
			Status: engine.DeliveryPending, Created: now, NextAttempt: now,
		}
		n.compose(&d, sum, *job)
		out = append(out, d)
	}
	return out, nil
}

// SweepSummary is a sweep that ended, as the sweep engine reports it.
type SweepSummary struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	User   string         `json:"user"`
	Total  int            `json:"total"`
	Counts map[string]int `json:"counts"`
	// EndTime defaults to now.
	EndTime time.Time `json:"end_time"`
	// Link defaults to the sweep's page under PublicURL.
	Link string `json:"url"`
	// Notify is the sweep's own notify spec, if it had one.
	Notify []byte `json:"-"`
}

// SweepEnded owes one notification per destination for a sweep that ended
// (the server-wide webhooks, and the sweep's own notify spec). Calling it
// again for the same sweep adds nothing: delivery ids are derived from the
// sweep id, so the sweep engine may call it again after a restart when it
// cannot tell whether the first call committed.
func (n *Notifier) SweepEnded(ctx context.Context, s SweepSummary) error {
	if s.ID == "" {
		return errors.New("notify: sweep summary without an id")
	}
	if s.EndTime.IsZero() {
		s.EndTime = n.o.Now()
	}
	s.EndTime = s.EndTime.UTC()
	if s.Link == "" && n.o.PublicURL != "" {
		s.Link = n.o.PublicURL + "/ui/sweeps/" + url.PathEscape(s.ID)
	}
	if s.Total == 0 {
		for _, c := range s.Counts {
			s.Total += c
		}
	}
	spec, err := parseStored(s.Notify)
	if err != nil {
		return fmt.Errorf("notify: sweep %s: %w", s.ID, err)
	}
	targets := append([]string(nil), n.o.Webhooks...)
	if spec.Webhook != "" {
		targets = append(targets, spec.Webhook)
	}
	var emails []string
	if spec.Email != "" {
		emails = append(emails, spec.Email)
	}
	if spec.EmailMe {
		emails = append(emails, n.o.UserEmail(s.User))
	}
	now := n.o.Now().UTC()
	var ds []engine.Delivery
	seen := map[string]bool{}
	for _, ch := range []string{ChannelWebhook, ChannelEmail} {
		list := targets
		if ch == ChannelEmail {
			list = emails
		}
		for _, to := range list {
			if to == "" || seen[ch+" "+to] {
				continue
			}
			seen[ch+" "+to] = true
			d := engine.Delivery{
				// Derived from the sweep and the destination: a second
				// call owes nothing new.
				ID:      fmt.Sprintf("%s.%s.%s", s.ID, EventSweepEnded, shortHash(ch+" "+to)),
				SweepID: s.ID, Event: EventSweepEnded, Channel: ch, Target: to,
				Status: engine.DeliveryPending, Created: now, NextAttempt: now,
			}
			n.composeSweep(&d, s)
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return nil
	}
	if err := n.o.Outbox.DeliveryInsert(ctx, engine.DeliveryInsertParams{Deliveries: ds}); err != nil {
		return fmt.Errorf("notify: sweep %s: %w", s.ID, err)
	}
	n.Wake()
	return nil
}

// sendDue attempts every delivery that is due, a few at a time.
func (n *Notifier) sendDue(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := n.o.Outbox.DeliveryListDue(ctx, engine.DeliveryListDueParams{Now: n.o.Now(), Limit: 64})
		if err != nil {
			n.log.Warn("notify: list due deliveries", "err", err)
			return
		}
		if len(due) == 0 {
			return
		}
		sem := make(chan struct{}, n.o.Workers)
		var wg sync.WaitGroup
		for _, d := range due {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				n.attempt(ctx, d)
			}()
		}
		wg.Wait()
		if len(due) < 64 {
			return
		}
	}
}

// attempt sends one delivery once and records the outcome.
func (n *Notifier) attempt(ctx context.Context, d engine.Delivery) {
	actx, cancel := context.WithTimeout(ctx, n.o.Timeout)
	var res result
	switch d.Channel {
	case ChannelWebhook:
		res = n.client.send(actx, d, n.o.Secret, n.o.UserAgent)
	case ChannelEmail:
		res = n.o.SMTP.send(actx, d)
	default:
		res = result{err: fmt.Errorf("unknown channel %q", d.Channel), permanent: true}
	}
	cancel()
	if ctx.Err() != nil {
		return // stopping: the delivery stays due and is sent after the restart
	}
	now := n.o.Now().UTC()
	p := engine.DeliveryUpdateParams{ID: d.ID, Time: now, Code: res.code, Status: engine.DeliveryDelivered}
	if res.err != nil {
		p.Error = truncate(res.err.Error(), 500)
		next := now.Add(n.backoff(d.Attempts + 1))
		switch {
		case res.permanent:
			p.Status = engine.DeliveryFailed
		case next.Sub(d.Created) > n.o.GiveUpAfter:
			p.Status = engine.DeliveryFailed
			p.Error = fmt.Sprintf("gave up after %d attempts over %s: %s", d.Attempts+1, n.o.GiveUpAfter, p.Error)
		default:
			p.Status, p.NextAttempt = engine.DeliveryPending, next
		}
		n.log.Info("notify: delivery failed", "delivery", d.ID, "to", d.Display, "attempt", d.Attempts+1, "status", p.Status, "err", p.Error)
	}
	if err := n.o.Outbox.DeliveryUpdate(context.WithoutCancel(ctx), p); err != nil {
		n.log.Warn("notify: record delivery", "delivery", d.ID, "err", err)
	}
}

// backoff is the wait after the n-th failed attempt.
func (n *Notifier) backoff(attempts int) time.Duration {
	d := n.o.BackoffBase
	for i := 1; i < attempts && d < n.o.BackoffMax; i++ {
		d *= 2
	}
	return min(d, n.o.BackoffMax)
}

// result is the outcome of one attempt.
type result struct {
	code      int
	err       error
	permanent bool // retrying cannot help
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
