// Package license watches FlexNet license servers: it runs
// `lmutil lmstat -a -c port@host`, parses what it prints, keeps the seats
// in use and their history, and holds queued jobs (an engine.Gate) while a
// feature they need has too few free seats.
package license

import (
	"bufio"
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Status is what one `lmstat -a -c port@host` run says about one license
// server (or a redundant triad of them).
type Status struct {
	// Up is false when lmstat could not reach the server: Error says why.
	Up    bool
	Error string
	// Hosts are the server hosts lmstat lists (three for a triad).
	Hosts []Host
	// Vendors are the vendor daemons (ansyslmd, cdslmd, ...).
	Vendors  []Vendor
	Features []Feature
}

// Host is one license server host line ("licsrv: license server UP (MASTER) v11.19.0").
type Host struct {
	Name    string
	Up      bool
	Master  bool
	Version string
	Error   string
}

// Vendor is one vendor daemon ("ansyslmd: UP v11.19.0").
type Vendor struct {
	Name    string
	Up      bool
	Version string
	Error   string
}

// Feature is one "Users of FEATURE:" block.
type Feature struct {
	Name    string
	Vendor  string
	Version string
	// Total is the number of licenses issued; Uncounted features have no
	// limit and Total 0.
	Total     int
	InUse     int
	Uncounted bool
	// Error is set when the server reports the feature unusable.
	Error        string
	Users        []Checkout
	Reservations []Reservation
	// Queued are users waiting for a seat (FlexNet license queuing).
	Queued []Checkout
}

// Checkout is one user line: who holds seats of a feature, where, since when.
type Checkout struct {
	User    string
	Host    string
	Display string
	Version string
	// Server is "host/port" and Handle the server's handle of the checkout.
	Server string
	Handle int
	// Since is when the seats were checked out; zero when lmstat did not say.
	Since time.Time
	Seats int
	// Borrowed is true for seats borrowed or lingering after their
	// application ended ("(linger: N)"): they stay in use.
	Borrowed bool
	Linger   time.Duration
}

// Reservation is a "N RESERVATIONs for KIND NAME (server/port)" line: seats
// the options file keeps for a user, group or host. lmstat counts them as in
// use.
type Reservation struct {
	Seats  int
	Kind   string // USER, GROUP, HOST, HOST_GROUP, DISPLAY, INTERNET, PROJECT
	Name   string
	Server string
}

// ErrNotLmstat is returned for text that holds nothing lmstat prints.
var ErrNotLmstat = errors.New("not lmstat output")

var (
	reUsersOf     = regexp.MustCompile(`^Users of ([^:\s]+):\s*\((.*)\)\s*$`)
	reTotals      = regexp.MustCompile(`^Total of (\d+) licenses? issued;\s*Total of (\d+) licenses? in use$`)
	reFeatureHead = regexp.MustCompile(`^"([^"]+)" (v\S*?),? vendor: ([^,\s]+)`)
	reHost        = regexp.MustCompile(`^(\S+): license server (UP|DOWN)(?: \(MASTER\))?(?: (v\S+))?`)
	reVendorUp    = regexp.MustCompile(`^(\S+): UP(?: (v\S+))?\s*$`)
	reVendorOther = regexp.MustCompile(`^(\S+): (.+)$`)
	reReservation = regexp.MustCompile(`^(\d+) RESERVATIONs? for (\S+) (.+?) \(([^)]*)\)\s*$`)
	reCheckout    = regexp.MustCompile(`^(.+?) \((v[^)]*)\) \(([^)]*)\)(.*)$`)
	reStart       = regexp.MustCompile(`start (?:[A-Za-z]{3} )?(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))? (\d{1,2}):(\d{2})`)
	reSeats       = regexp.MustCompile(`, (\d+) licenses?\b`)
	reQueued      = regexp.MustCompile(`queued for (\d+) licenses?`)
	reLinger      = regexp.MustCompile(`\(linger: (\d+)(?: / \d+)?\)`)
)

// Parse reads the output of `lmutil lmstat -a -c port@host`. Start times
// have no year in lmstat's output: each is taken as the latest such date
// not after now (plus a day, for clocks apart), in loc (nil: time.Local).
// Text with nothing lmstat prints is ErrNotLmstat; a server lmstat could
// not reach is a Status with Up false, not an error.
func Parse(out []byte, now time.Time, loc *time.Location) (Status, error) {
	if loc == nil {
		loc = time.Local
	}
	var st Status
	var feat *Feature
	recognised := false
	inVendors, inHosts := false, false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimRight(sc.Text(), "\r"))
		if line == "" {
			continue
		}
		switch {
		case strings.HasPrefix(line, "Flexible License Manager status on"):
			recognised = true
		case strings.HasPrefix(line, "License server status:"):
			recognised = true
			inVendors, inHosts = false, true
		case strings.HasPrefix(line, "License file(s) on"):
		case strings.HasPrefix(line, "Error getting status:"), strings.HasPrefix(line, "lmgrd is not running:"):
			recognised = true
			_, msg, _ := strings.Cut(line, ":")
			st.Error = joinErr(st.Error, strings.TrimSpace(msg))
		case strings.HasPrefix(line, "Vendor daemon status"):
			recognised = true
			inVendors, inHosts = true, false
		case strings.HasPrefix(line, "Feature usage info:"):
			inVendors, inHosts = false, false
		case strings.HasPrefix(line, "Users of "):
			inVendors, inHosts = false, false
			m := reUsersOf.FindStringSubmatch(line)
			if m == nil {
				feat = nil
				continue
			}
			recognised = true
			f := Feature{Name: m[1]}
			if len(st.Vendors) > 0 {
				f.Vendor = st.Vendors[len(st.Vendors)-1].Name
			}
			detail := strings.TrimSpace(m[2])
			if t := reTotals.FindStringSubmatch(detail); t != nil {
				f.Total, _ = strconv.Atoi(t[1])
				f.InUse, _ = strconv.Atoi(t[2])
			} else if strings.HasPrefix(detail, "Uncounted") {
				f.Uncounted = true
			} else {
				f.Error = strings.TrimSpace(strings.TrimPrefix(detail, "Error:"))
			}
			st.Features = append(st.Features, f)
			feat = &st.Features[len(st.Features)-1]
		case reHost.MatchString(line):
			m := reHost.FindStringSubmatch(line)
			recognised = true
			st.Hosts = append(st.Hosts, Host{Name: m[1], Up: m[2] == "UP", Master: strings.Contains(line, "(MASTER)"), Version: m[3]})
		case inHosts:
			// "lic2: Cannot read data from license server system. (-16,287)"
			if m := reVendorOther.FindStringSubmatch(line); m != nil && !strings.ContainsAny(m[1], `/\`) {
				st.Hosts = append(st.Hosts, Host{Name: m[1], Error: m[2]})
			}
		case inVendors:
			if m := reVendorUp.FindStringSubmatch(line); m != nil {
				st.Vendors = append(st.Vendors, Vendor{Name: m[1], Up: true, Version: m[2]})
			} else if m := reVendorOther.FindStringSubmatch(line); m != nil {
				st.Vendors = append(st.Vendors, Vendor{Name: m[1], Error: m[2]})
			}
		case feat != nil:
			parseFeatureLine(feat, line, now, loc)
		}
	}
	if !recognised {
		return Status{}, ErrNotLmstat
	}
	st.Up = st.Error == "" && (len(st.Hosts) == 0 || anyHostUp(st.Hosts))
	if !st.Up && st.Error == "" {
		st.Error = "no license server host is up"
	}
	return st, nil
}

func anyHostUp(hs []Host) bool {
	for _, h := range hs {
		if h.Up {
			return true
		}
	}
	return false
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// parseFeatureLine reads one line inside a "Users of" block.
func parseFeatureLine(f *Feature, line string, now time.Time, loc *time.Location) {
	if m := reFeatureHead.FindStringSubmatch(line); m != nil {
		f.Version, f.Vendor = m[2], m[3]
		return
	}
	if m := reReservation.FindStringSubmatch(line); m != nil {
		n, _ := strconv.Atoi(m[1])
		f.Reservations = append(f.Reservations, Reservation{Seats: n, Kind: m[2], Name: m[3], Server: m[4]})
		return
	}
	m := reCheckout.FindStringSubmatch(line)
	if m == nil {
		return // "floating license", "nodelocked license, locked to ...", etc.
	}
	c := Checkout{Version: m[2], Seats: 1}
	fields := strings.Fields(m[1])
	c.User = fields[0]
	if len(fields) > 1 {
		c.Host = fields[1]
	}
	if len(fields) > 2 {
		c.Display = strings.Join(fields[2:], " ")
	}
	srv := strings.Fields(m[3])
	if len(srv) > 0 {
		c.Server = srv[0]
	}
	if len(srv) > 1 {
		c.Handle, _ = strconv.Atoi(srv[1])
	}
	rest := m[4]
	if q := reQueued.FindStringSubmatch(rest); q != nil {
		c.Seats, _ = strconv.Atoi(q[1])
		f.Queued = append(f.Queued, c)
		return
	}
	if s := reStart.FindStringSubmatch(rest); s != nil {
		c.Since = startTime(s, now, loc)
	}
	if s := reSeats.FindStringSubmatch(rest); s != nil {
		c.Seats, _ = strconv.Atoi(s[1])
	}
	if l := reLinger.FindStringSubmatch(rest); l != nil {
		secs, _ := strconv.ParseInt(l[1], 10, 64)
		c.Borrowed = true
		c.Linger = time.Duration(min(secs, int64(1<<62)/int64(time.Second))) * time.Second
	}
	f.Users = append(f.Users, c)
}

// startTime turns lmstat's "start Mon 12/1 9:30" into a time: the latest
// such date not after now plus a day (lmstat gives no year).
func startTime(m []string, now time.Time, loc *time.Location) time.Time {
	month, _ := strconv.Atoi(m[1])
	day, _ := strconv.Atoi(m[2])
	hour, _ := strconv.Atoi(m[4])
	minute, _ := strconv.Atoi(m[5])
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 {
		return time.Time{}
	}
	if m[3] != "" {
		y, _ := strconv.Atoi(m[3])
		if y < 100 {
			y += 2000
		}
		return time.Date(y, time.Month(month), day, hour, minute, 0, 0, loc)
	}
	limit := now.In(loc).Add(24 * time.Hour)
	for y := limit.Year(); y >= limit.Year()-1; y-- {
		t := time.Date(y, time.Month(month), day, hour, minute, 0, 0, loc)
		if t.Day() == day && !t.After(limit) {
			return t
		}
	}
	return time.Time{}
}
