package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"
)

// maxRate bounds a rate's count: beyond it a limit means nothing, and
// the burst derived from it must fit an int.
const maxRate = 1_000_000

// ParseRate reads a rate such as "50/s", "600/m" or "1000/h" as events per
// second; "", "0" and "off" are no limit (0).
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "0", "off", "none":
		return 0, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("rate %q: want N/s, N/m or N/h (e.g. 50/s)", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("rate %q: %q is not a positive number", s, n)
	}
	if v > maxRate {
		return 0, fmt.Errorf("rate %q: at most %d per unit (use off for no limit)", s, maxRate)
	}
	switch strings.TrimSpace(unit) {
	case "s", "sec", "second":
		return v, nil
	case "m", "min", "minute":
		return v / 60, nil
	case "h", "hour":
		return v / 3600, nil
	}
	return 0, fmt.Errorf("rate %q: the unit must be s, m or h", s)
}

// limiters holds one token bucket per caller: the identity's name when
// authenticated, else the peer address (the login form).
type limiters struct {
	every rate.Limit
	burst int
	now   func() time.Time

	mu sync.Mutex
	m  map[string]*limiter
}

type limiter struct {
	l    *rate.Limiter
	used time.Time
}

// maxLimiters bounds memory: past it, buckets idle long enough to be full
// again are dropped (dropping a full bucket changes nothing).
const maxLimiters = 10000

func newLimiters(perSecond float64, burst int) *limiters {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return &limiters{every: rate.Limit(perSecond), burst: burst, now: time.Now, m: map[string]*limiter{}}
}

// reserve takes a token for key; when there is none it returns how long
// until there is one.
func (ls *limiters) reserve(key string) (time.Duration, bool) {
	now := ls.now()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l, ok := ls.m[key]
	if !ok {
		if len(ls.m) >= maxLimiters {
			ls.prune(now)
		}
		l = &limiter{l: rate.NewLimiter(ls.every, ls.burst)}
		ls.m[key] = l
	}
	l.used = now
	r := l.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

func (ls *limiters) prune(now time.Time) {
	full := time.Duration(float64(ls.burst)/float64(ls.every)*float64(time.Second)) + time.Second
	for k, l := range ls.m {
		if now.Sub(l.used) > full {
			delete(ls.m, k)
		}
	}
	if len(ls.m) >= maxLimiters { // all busy: make room anyway
		for k := range ls.m {
			delete(ls.m, k)
			break
		}
	}
}

// limit applies the submission rate limit to every state-changing request
// (submissions, cancels, priority and limit changes, dashboard forms), per
// caller, answering 429 with Retry-After. Socket.IO polling packets are
// protocol traffic, not actions, and are not counted.
func (s *Server) limit(c *fiber.Ctx) error {
	if s.limiters == nil || !unsafeMethod(c.Method()) || strings.HasPrefix(c.Path(), "/socket.io") {
		return c.Next()
	}
	key := "ip:" + c.IP()
	if authenticated(c) {
		key = "id:" + identity(c).Name
	}
	wait, ok := s.limiters.reserve(key)
	if !ok {
		secs := int(math.Ceil(wait.Seconds()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, secs)))
		return apiError(fiber.StatusTooManyRequests, fmt.Sprintf("too many requests: at most %s per caller; retry in %v", rateText(float64(s.limiters.every)), wait.Round(time.Millisecond)))
	}
	return c.Next()
}

func rateText(perSecond float64) string {
	switch {
	case perSecond >= 1:
		return strconv.FormatFloat(perSecond, 'f', -1, 64) + "/s"
	case perSecond*60 >= 1:
		return strconv.FormatFloat(perSecond*60, 'f', -1, 64) + "/m"
	}
	return strconv.FormatFloat(perSecond*3600, 'f', -1, 64) + "/h"
}
