package license

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultEvery   = 30 * time.Second
	DefaultTimeout = 20 * time.Second
)

// Options configure a Monitor.
type Options struct {
	// Servers are port@host addresses, each polled with its own lmstat run.
	Servers []string
	// LMUtil is the lmutil executable (default "lmutil", looked up on PATH).
	LMUtil string
	// Every is the poll interval (default 30 s). It is also how long a seat
	// stays reserved for a job that was just started (see Gate).
	Every time.Duration
	// Timeout bounds one lmstat run (default 20 s, at most Every).
	Timeout time.Duration
	// Map says what each job needs; the zero value means DefaultMap().
	Map *Map
	// GateCluster makes the gate judge jobs handed to a cluster scheduler
	// too, before they are submitted. Without it they pass.
	GateCluster bool
	// Env is added to lmutil's environment.
	Env []string
	// User is whom the solvers check their seats out as: the server's OS
	// user, which runs them. Seats a server's RESERVATION line keeps for
	// this USER are free for simjobs' jobs.
	User string
	// OnChange is called after each poll and when a reservation lapses,
	// never with a lock held: the server publishes licenses_updated and
	// asks the manager to look at held jobs again.
	OnChange func(Report)
	Logger   *slog.Logger
	Now      func() time.Time
	// Location is the license server's time zone, for lmstat's start times
	// (default time.Local).
	Location *time.Location
}

// Monitor polls the license servers, keeps what they said and a day of
// history, and is the engine.Gate that holds jobs short of seats.
type Monitor struct {
	o    Options
	log  *slog.Logger
	poke chan struct{}
	// rearm wakes the poll loop when the reservations changed.
	rearm chan struct{}

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}

	mu sync.Mutex
	// polled is true once the first poll ended, whatever it found.
	polled    bool
	sampledAt time.Time
	servers   []serverState
	// reservations are seats held for jobs the gate admitted recently, by
	// job and attempt.
	reservations map[string]reservation
	// needs caches Map.Needs by job and attempt (see needsLocked).
	needs   map[string][]Need
	history []Point
	// feats is the last poll's features, summed over the servers (see
	// sumFeaturesLocked): what the gate judges by.
	feats map[string]*feature
}

type serverState struct {
	addr   string
	status Status
	err    string // lmutil failed, or the server is down
	at     time.Time
	// served is the features the server reported at its last good poll,
	// kept while it cannot be read: those hold no job meanwhile.
	served map[string]bool
}

type reservation struct {
	needs []Need
	at    time.Time
}

// New checks the options and returns a monitor that has not polled yet.
func New(o Options) (*Monitor, error) {
	if len(o.Servers) == 0 {
		return nil, errors.New("license: no license server given")
	}
	for _, s := range o.Servers {
		if err := CheckServer(s); err != nil {
			return nil, err
		}
	}
	if o.LMUtil == "" {
		o.LMUtil = "lmutil"
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	o.Timeout = min(o.Timeout, o.Every)
	if o.Map == nil {
		m := DefaultMap()
		o.Map = &m
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	m := &Monitor{o: o, log: o.Logger, poke: make(chan struct{}, 1), rearm: make(chan struct{}, 1), reservations: map[string]reservation{}, needs: map[string][]Need{}}
	for _, s := range o.Servers {
		m.servers = append(m.servers, serverState{addr: s})
	}
	return m, nil
}

// Start polls at once and then every interval until Stop or ctx ends.
func (m *Monitor) Start(ctx context.Context) {
	ctx, m.cancel = context.WithCancel(ctx)
	m.done = make(chan struct{})
	go m.run(ctx)
}

// Stop ends the polling and waits for it. It is safe to call twice.
func (m *Monitor) Stop() {
	m.stopOnce.Do(func() {
		if m.cancel != nil {
			m.cancel()
			<-m.done
		}
	})
}

// PollNow asks for a poll soon; it never waits for it.
func (m *Monitor) PollNow() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

func (m *Monitor) run(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(m.o.Every)
	defer tick.Stop()
	lapse := time.NewTimer(time.Hour)
	defer lapse.Stop()
	for {
		m.poll(ctx)
		for waiting := true; waiting; {
			lapse.Reset(m.nextLapse())
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				waiting = false
			case <-m.poke:
				waiting = false
			case <-m.rearm:
				m.changed()
			case <-lapse.C:
				// A reservation ran out: held jobs may fit now.
				m.changed()
			}
		}
	}
}

// poll asks every server, at the same time, and records what they said.
func (m *Monitor) poll(ctx context.Context) {
	now := m.o.Now()
	results := make([]serverState, len(m.o.Servers))
	var wg sync.WaitGroup
	for i, addr := range m.o.Servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := lmstat(ctx, m.o.LMUtil, addr, m.o.Env, m.o.Timeout, now, m.o.Location)
			r := serverState{addr: addr, status: st, at: now}
			switch {
			case err != nil:
				r.err = err.Error()
			case !st.Up:
				r.err = st.Error
			}
			results[i] = r
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	m.mu.Lock()
	prev := m.servers
	for i := range results {
		r := &results[i]
		if r.err != "" {
			r.served = prev[i].served
			continue
		}
		r.served = map[string]bool{}
		for _, f := range r.status.Features {
			r.served[f.Name] = true
		}
	}
	m.servers = results
	m.feats = m.sumFeaturesLocked()
	m.polled = true
	m.sampledAt = now
	m.record(now)
	m.mu.Unlock()
	// Logged when it changes, not every poll of an outage.
	for i, r := range results {
		switch {
		case r.err != "" && r.err != prev[i].err:
			m.log.Warn("license server poll failed; jobs are not held for its features", "server", r.addr, "err", r.err)
		case r.err == "" && prev[i].err != "":
			m.log.Info("license server answers again", "server", r.addr)
		}
	}
	m.changed()
}

func (m *Monitor) changed() {
	if m.o.OnChange != nil {
		m.o.OnChange(m.Report())
	}
}

// nextLapse is the time until the first reservation stops counting.
func (m *Monitor) nextLapse() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.o.Now()
	next := time.Hour
	for _, r := range m.reservations {
		if d := r.at.Add(m.o.Every).Sub(now); d > 0 && d < next {
			next = d
		}
	}
	return next + time.Millisecond
}

// feature is one feature as every server that is up reports it, summed.
type feature struct {
	Feature
	known bool
}

// unreadLocked reports whether a server that could not be read at the last
// poll served the feature when it last could: its seats are unknown, and
// a failure never blocks the queue.
func (m *Monitor) unreadLocked(feature string) bool {
	for _, s := range m.servers {
		if s.err != "" && s.served[feature] {
			return true
		}
	}
	return false
}

// featuresLocked is the features of the servers that answered at the last
// poll, summed over them.
func (m *Monitor) featuresLocked() map[string]*feature { return m.feats }

// sumFeaturesLocked sums the features of the servers that answered.
func (m *Monitor) sumFeaturesLocked() map[string]*feature {
	out := map[string]*feature{}
	for _, s := range m.servers {
		if s.err != "" {
			continue
		}
		for _, f := range s.status.Features {
			if f.Error != "" {
				continue
			}
			agg, ok := out[f.Name]
			if !ok {
				agg = &feature{Feature: Feature{Name: f.Name, Vendor: f.Vendor}, known: true}
				out[f.Name] = agg
			}
			agg.Total += f.Total
			agg.InUse += f.InUse
			agg.Uncounted = agg.Uncounted || f.Uncounted
			agg.Users = append(agg.Users, f.Users...)
			agg.Queued = append(agg.Queued, f.Queued...)
			agg.Reservations = append(agg.Reservations, f.Reservations...)
		}
	}
	return out
}

// reservedLocked is the seats of each feature held for recently admitted
// jobs, leaving out the job skip. A reservation counts for one poll
// interval after its job was admitted, and for as long as no poll has
// looked at the servers since: by then the solver has checked its seats
// out, or the seats show as free again.
func (m *Monitor) reservedLocked(now time.Time, skip string) map[string]int {
	out := map[string]int{}
	for key, r := range m.reservations {
		if key == skip || !m.reservationCounts(r, now) {
			continue
		}
		for _, n := range r.needs {
			out[n.Feature] += n.Seats
		}
	}
	return out
}

func (m *Monitor) reservationCounts(r reservation, now time.Time) bool {
	return now.Sub(r.at) < m.o.Every || !m.sampledAt.After(r.at)
}

// pruneLocked forgets reservations that no longer count.
func (m *Monitor) pruneLocked(now time.Time) {
	for key, r := range m.reservations {
		if !m.reservationCounts(r, now) {
			delete(m.reservations, key)
		}
	}
}

// Report is what the license servers said at the last poll: the answer of
// GET /api/licenses and the data of the licenses_updated event.
type Report struct {
	Servers   []string   `json:"servers"`
	SampledAt *time.Time `json:"sampled_at"`
	// Error says which servers could not be read, "" when all were.
	Error    string         `json:"error"`
	Features []FeatureUse   `json:"features"`
	Status   []ServerStatus `json:"server_status"`
}

// FeatureUse is one feature summed over the servers that answered.
type FeatureUse struct {
	Name   string `json:"name"`
	Vendor string `json:"vendor"`
	Total  int    `json:"total"`
	InUse  int    `json:"in_use"`
	// Reserved is seats held for jobs simjobs just started that have not
	// checked them out yet.
	Reserved  int    `json:"reserved"`
	Free      int    `json:"free"`
	Uncounted bool   `json:"uncounted"`
	Users     []User `json:"users"`
	// Queued is how many seats users wait for in FlexNet's own queue.
	Queued int `json:"queued"`
	// Reservations are the server's RESERVATION lines (counted in in_use).
	Reservations []ServerReservation `json:"reservations"`
}

// User is who holds seats.
type User struct {
	User     string     `json:"user"`
	Host     string     `json:"host"`
	Since    *time.Time `json:"since"`
	Seats    int        `json:"seats"`
	Borrowed bool       `json:"borrowed"`
}

// ServerReservation is seats the license server keeps for someone.
type ServerReservation struct {
	Seats int    `json:"seats"`
	For   string `json:"for"` // "USER dave", "GROUP hfss_team"
}

// ServerStatus is one configured server.
type ServerStatus struct {
	Server  string         `json:"server"`
	Up      bool           `json:"up"`
	Error   string         `json:"error"`
	Vendors []VendorStatus `json:"vendors"`
}

// VendorStatus is one vendor daemon of a server.
type VendorStatus struct {
	Name  string `json:"name"`
	Up    bool   `json:"up"`
	Error string `json:"error"`
}

// Report returns the last poll's findings with the seats reserved now.
func (m *Monitor) Report() Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.o.Now()
	r := Report{Servers: slices.Clone(m.o.Servers), Features: []FeatureUse{}, Status: []ServerStatus{}}
	if !m.polled {
		return r
	}
	t := m.sampledAt.UTC()
	r.SampledAt = &t
	var errs []string
	for _, s := range m.servers {
		ss := ServerStatus{Server: s.addr, Up: s.err == "", Error: s.err, Vendors: []VendorStatus{}}
		for _, v := range s.status.Vendors {
			ss.Vendors = append(ss.Vendors, VendorStatus{Name: v.Name, Up: v.Up, Error: v.Error})
		}
		r.Status = append(r.Status, ss)
		if s.err != "" {
			errs = append(errs, s.addr+": "+s.err)
		}
	}
	r.Error = strings.Join(errs, "; ")
	reserved := m.reservedLocked(now, "")
	feats := m.featuresLocked()
	names := make([]string, 0, len(feats))
	for n := range feats {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f := feats[n]
		u := FeatureUse{Name: f.Name, Vendor: f.Vendor, Total: f.Total, InUse: f.InUse, Reserved: reserved[n], Uncounted: f.Uncounted,
			Users: []User{}, Reservations: []ServerReservation{}}
		u.Free = max(f.Total-f.InUse-u.Reserved, 0)
		for _, c := range f.Users {
			user := User{User: c.User, Host: c.Host, Seats: c.Seats, Borrowed: c.Borrowed}
			if !c.Since.IsZero() {
				s := c.Since.UTC()
				user.Since = &s
			}
			u.Users = append(u.Users, user)
		}
		for _, q := range f.Queued {
			u.Queued += q.Seats
		}
		for _, res := range f.Reservations {
			u.Reservations = append(u.Reservations, ServerReservation{Seats: res.Seats, For: res.Kind + " " + res.Name})
		}
		r.Features = append(r.Features, u)
	}
	return r
}

// Healthy reports whether the last poll read every server; before the
// first poll it is true.
func (m *Monitor) Healthy() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.servers {
		if s.err != "" {
			return false
		}
	}
	return true
}

// seatsText is "1 seat" or "n seats".
func seatsText(n int) string {
	if n == 1 {
		return "1 seat"
	}
	return fmt.Sprintf("%d seats", n)
}
