// Package jobs is the job table: search by id, project or user, filter by
// status and user, newest or oldest first, keyset pages that cost the same
// on the first page as on the millionth job, rows kept current by the live
// feed, and bulk cancel.
package jobs

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/simjobs/simjobs/engine"
)

// PageSize is how many jobs a page shows.
const PageSize = 50

// Filter is what the table shows, as its URL query says it.
type Filter struct {
	Search string
	Status engine.Status // "" = every status; see statusActive
	Active bool          // pending, queued, scheduled or running
	User   string
	Oldest bool  // oldest first; the default is newest first
	Before int64 // keyset cursor: jobs listed before this one
	After  int64 // keyset cursor: jobs listed after this one
}

// activeStatuses is the "active" choice of the status filter.
var activeStatuses = []engine.Status{engine.StatusPending, engine.StatusQueued, engine.StatusScheduled, engine.StatusRunning}

// ParseFilter reads a Filter from a query; a bad value is a
// *engine.ValidationError naming the parameter.
func ParseFilter(q url.Values) (Filter, error) {
	f := Filter{Search: strings.TrimSpace(q.Get("q")), User: strings.TrimSpace(q.Get("user")), Oldest: q.Get("order") == "oldest"}
	switch st := q.Get("status"); st {
	case "":
	case "active":
		f.Active = true
	default:
		if !engine.Status(st).Valid() {
			return f, &engine.ValidationError{Field: "status", Message: fmt.Sprintf("unknown status %q", st)}
		}
		f.Status = engine.Status(st)
	}
	for name, dst := range map[string]*int64{"before": &f.Before, "after": &f.After} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return f, &engine.ValidationError{Field: name, Message: "must be a job position"}
			}
			*dst = n
		}
	}
	if len(f.Search) > 200 || len(f.User) > 64 {
		return f, &engine.ValidationError{Field: "q", Message: "is too long"}
	}
	return f, nil
}

// Statuses are the statuses the filter lets through, nil for all.
func (f Filter) Statuses() []engine.Status {
	switch {
	case f.Active:
		return activeStatuses
	case f.Status != "":
		return []engine.Status{f.Status}
	}
	return nil
}

// StatusValue is the status filter as the query spells it.
func (f Filter) StatusValue() string {
	if f.Active {
		return "active"
	}
	return string(f.Status)
}

// FirstPage reports whether the table shows the newest jobs, where a new
// submission appears live.
func (f Filter) FirstPage() bool { return !f.Oldest && f.Before == 0 && f.After == 0 }

// Query is the filter as a URL query, without the cursor.
func (f Filter) Query() url.Values {
	q := url.Values{}
	if f.Search != "" {
		q.Set("q", f.Search)
	}
	if v := f.StatusValue(); v != "" {
		q.Set("status", v)
	}
	if f.User != "" {
		q.Set("user", f.User)
	}
	if f.Oldest {
		q.Set("order", "oldest")
	}
	return q
}

// Matches reports whether a job passes the filter (for rows the live feed
// adds). It follows the store's rules: search is a case-insensitive
// substring of the id, the user or the project path.
func (f Filter) Matches(j engine.Job, project string) bool {
	if st := f.Statuses(); st != nil && !slices.Contains(st, j.Status) {
		return false
	}
	if f.User != "" && f.User != j.User {
		return false
	}
	if f.Search != "" {
		s := strings.ToLower(f.Search)
		return strings.Contains(strings.ToLower(j.ID), s) || strings.Contains(strings.ToLower(j.User), s) || strings.Contains(strings.ToLower(project), s)
	}
	return true
}

// Model is one page of the table.
type Model struct {
	Filter Filter
	Jobs   []engine.Job
	// Prev and Next are the links to the neighbouring pages, "" at an end.
	Prev, Next string
	Counts     map[engine.Status]int
	Notice     string
	Error      string
}

// Load reads one page: PageSize+1 jobs by keyset (the extra one says
// whether a further page exists), never a full count.
func Load(ctx context.Context, m *engine.Manager, f Filter) (Model, error) {
	md := Model{Filter: f}
	p := engine.JobListParams{Statuses: f.Statuses(), User: f.User, Search: f.Search, Limit: PageSize + 1}
	// Newest first walks the listing backwards; "after" pages walk towards
	// the newest, so they read forwards and are turned round.
	backwards := false
	switch {
	case !f.Oldest && f.After > 0:
		p.AfterSeq = f.After
		backwards = true
	case !f.Oldest:
		p.Descending, p.BeforeSeq = true, f.Before
	case f.Before > 0:
		p.Descending, p.BeforeSeq = true, f.Before
		backwards = true
	default:
		p.AfterSeq = f.After
	}
	jobs, err := m.Jobs(ctx, p)
	if err != nil {
		return md, err
	}
	more := len(jobs) > PageSize
	if more {
		jobs = jobs[:PageSize]
	}
	if backwards {
		slices.Reverse(jobs)
	}
	md.Jobs = jobs
	if len(jobs) > 0 {
		first, last := jobs[0].ListSeq, jobs[len(jobs)-1].ListSeq
		q := f.Query()
		// A page reached backwards has more behind it when more is true,
		// and always has the page it came from ahead of it.
		hasPrev := (backwards && more) || (!backwards && (f.Before > 0 || f.After > 0))
		hasNext := (!backwards && more) || backwards
		if hasPrev {
			q.Set(prevKey(f.Oldest), strconv.FormatInt(first, 10))
			md.Prev = "/ui/jobs?" + q.Encode()
			q.Del(prevKey(f.Oldest))
		}
		if hasNext {
			q.Set(nextKey(f.Oldest), strconv.FormatInt(last, 10))
			md.Next = "/ui/jobs?" + q.Encode()
		}
	}
	md.Counts, err = m.CountByStatus(ctx)
	return md, err
}

// nextKey and prevKey are the cursor parameters that page away from and
// back towards the start of the listing.
func nextKey(oldest bool) string {
	if oldest {
		return "after"
	}
	return "before"
}

func prevKey(oldest bool) string {
	if oldest {
		return "before"
	}
	return "after"
}
