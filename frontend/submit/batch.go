package submit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/projects"
)

// BatchForm is the batch tab: a folder, its projects once previewed, and
// what submitting them did.
type BatchForm struct {
	Folder    string
	Recursive bool
	Priority  string
	// Cores, Design, Setup and Time apply to every job ("" the default).
	Cores, Design, Setup, Time string
	Projects                   []string // the preview
	Selected                   map[string]bool
	Results                    []BatchResult
	Error                      string
}

// BatchResult is the outcome of one project of a batch.
type BatchResult struct {
	Project string
	JobID   string
	Error   string
}

// errOutside: a folder outside the project roots.
var errOutside = errors.New("outside the allowed project roots")

// inRoots resolves path and checks it is under the policy's project roots
// (any path when there are none), by the engine's own rule (Policy.Within),
// the one a submission is checked against.
func inRoots(path string, p engine.Policy) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%q is not an absolute path", path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("%q does not exist on this server", path)
	}
	if p.Within(real) {
		return real, nil
	}
	return "", fmt.Errorf("%q is %w (%s)", path, errOutside, strings.Join(p.ProjectRoots, ", "))
}

// discover lists the folder's projects within the roots.
func discover(folder string, recursive bool, p engine.Policy) ([]string, error) {
	real, err := inRoots(strings.TrimSpace(folder), p)
	if err != nil {
		return nil, err
	}
	found, err := projects.Discover(real, recursive)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no .aedt or .aedb project in %q", folder)
	}
	return found, nil
}

// Listing is one folder of the project picker.
type Listing struct {
	Dir      string
	Parent   string // "" at a root
	Dirs     []string
	Projects []string
	Roots    []string
	Target   string // the input a pick fills
	Error    string
	// Sizes are the projects' sizes in words ("12.4 MB"; an .aedb folder's
	// is its files' sum, "≥" when there were too many to count).
	Sizes map[string]string
}

// maxListing bounds one picker folder.
const maxListing = 500

// browse lists dir for the picker: sub-folders to open, projects to pick.
// With roots it never leaves them.
func browse(dir string, p engine.Policy) Listing {
	roots := p.ProjectRoots
	l := Listing{Roots: roots}
	if dir == "" {
		if len(roots) > 0 {
			dir = roots[0]
		} else if home, err := os.UserHomeDir(); err == nil {
			dir = home
		} else {
			dir = string(filepath.Separator)
		}
	}
	real, err := inRoots(filepath.Clean(dir), p)
	if err != nil {
		l.Error = err.Error()
		return l
	}
	l.Dir = real
	if parent := filepath.Dir(real); parent != real {
		if _, err := inRoots(parent, p); err == nil {
			l.Parent = parent
		}
	}
	entries, err := os.ReadDir(real)
	if err != nil {
		l.Error = fmt.Sprintf("cannot read %q", real)
		return l
	}
	for _, e := range entries {
		if len(l.Dirs)+len(l.Projects) >= maxListing {
			break
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := filepath.Join(real, name)
		switch {
		case projects.IsProject(name):
			l.Projects = append(l.Projects, full)
		case e.IsDir():
			l.Dirs = append(l.Dirs, full)
		}
	}
	slices.Sort(l.Dirs)
	slices.Sort(l.Projects)
	l.Sizes = make(map[string]string, len(l.Projects))
	for _, p := range l.Projects {
		l.Sizes[p] = projectSize(p)
	}
	return l
}

// maxSizeWalk bounds the files counted in one .aedb folder's size.
const maxSizeWalk = 2000

// projectSize is a project's size in words, "" when it cannot be read.
func projectSize(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if !fi.IsDir() {
		return byteSize(fi.Size())
	}
	var total int64
	n, more := 0, false
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if n++; n > maxSizeWalk {
			more = true
			return filepath.SkipAll
		}
		if info, err := d.Info(); err == nil {
			total += info.Size()
		}
		return nil
	})
	if more {
		return "≥ " + byteSize(total)
	}
	return byteSize(total)
}

// byteSize is n bytes in words: 512 B, 12.4 kB, 3.1 GB (powers of 1000).
func byteSize(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, unit := float64(n), ""
	for _, u := range []string{"kB", "MB", "GB", "TB", "PB"} {
		f /= 1000
		unit = u
		if f < 1000 {
			break
		}
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + unit
}

// Config is the config of one project's job: the settings of the form,
// and the job id its path gives (projects.JobID).
func (b *BatchForm) Config(project string, cores int) json.RawMessage {
	cfg := map[string]any{"project_path": project, "jobid": projects.JobID(project, b.Design, b.Setup)}
	if b.Design != "" {
		cfg["design_name"] = b.Design
	}
	if b.Setup != "" {
		cfg["setup_name"] = b.Setup
	}
	if b.Time != "" {
		cfg["scheduler_options"] = map[string]any{"time": b.Time}
	}
	if cores > 0 {
		cfg["machine_nodes"] = []map[string]any{{"hostname": "localhost", "cores": cores, "max_cores": cores}}
	}
	raw, _ := json.Marshal(cfg)
	return raw
}
