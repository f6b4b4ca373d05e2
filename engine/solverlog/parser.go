package solverlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Bounds on what a parser keeps, whatever it is fed.
const (
	maxLine         = 64 << 10 // longer lines are cut here
	maxPasses       = 500      // adaptive passes kept (the latest)
	maxLast         = 5        // warnings and errors kept (the latest)
	maxText         = 500      // bytes of one message
	maxName         = 200      // bytes of a name (project, setup, ...)
	maxCommand      = 8 << 10  // bytes of the command line
	maxStages       = 32
	maxMachines     = 64
	maxSolving      = 4096 // sweep frequencies followed at once
	maxContinuation = 50   // lines a message may continue on
)

// Parser turns a solver log into a Summary as it is written. The zero
// value is not ready: use NewParser. A Parser is not safe for concurrent
// use.
type Parser struct {
	loc *time.Location

	partial  []byte // the line being written
	overlong bool   // the line passed maxLine: the rest of it is skipped

	recognised bool
	s          Summary // Adaptive and Sweep are owned; copied out by Summary
	phase      State   // the latest phase a marker showed
	fatal      string  // the solver's fatal error, "" if none
	normal     bool    // the solver reported normal completion
	stopped    bool    // the batch run stopped
	firstTime  *time.Time

	profileMachines bool // machines come from [PROFILE] lines, not the header

	pass       *Pass // the pass under way
	passStart  *time.Time
	lastPassNo int

	stage   int             // index in s.Stages of the stage under way, -1 for none
	solving map[string]bool // sweep frequencies started, not finished
	lastRun string          // the sweep frequency started last

	open      bool     // a message whose time stamp has not come yet
	msg       *Message // that message, if it is a warning or an error
	contLines int
}

// NewParser returns a parser reading the log's local times in loc (the
// solver's time zone; time.Local for a solve on this host).
func NewParser(loc *time.Location) *Parser {
	if loc == nil {
		loc = time.UTC
	}
	return &Parser{loc: loc, stage: -1, phase: StateStarting}
}

// Write feeds the parser more of the log. It never fails.
func (p *Parser) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if p.overlong {
			if i < 0 {
				return n, nil
			}
			p.overlong = false
			b = b[i+1:]
			continue
		}
		seg := b
		if i >= 0 {
			seg = b[:i]
		}
		room := maxLine - len(p.partial)
		switch {
		case len(seg) > room:
			p.partial = append(p.partial, seg[:room]...)
			p.line(p.partial)
			p.partial = p.partial[:0]
			if i < 0 {
				p.overlong = true
				return n, nil
			}
		case i < 0:
			p.partial = append(p.partial, seg...)
			return n, nil
		case len(p.partial) > 0:
			p.partial = append(p.partial, seg...)
			p.line(p.partial)
			p.partial = p.partial[:0]
		default:
			p.line(seg)
		}
		b = b[i+1:]
	}
	return n, nil
}

// Flush reads a last line that has no line break yet, as when the log is
// complete.
func (p *Parser) Flush() {
	if p.overlong {
		p.overlong = false
		return
	}
	if len(p.partial) > 0 {
		p.line(p.partial)
		p.partial = p.partial[:0]
	}
}

// Recognised reports whether anything read so far came from an Ansys
// solver: a job whose output is something else has no summary.
func (p *Parser) Recognised() bool { return p.recognised }

// Summary returns what the log said so far. It is a copy: later writes do
// not change it.
func (p *Parser) Summary() Summary {
	s := p.s
	s.Machines = slices.Clone(p.s.Machines)
	s.Stages = slices.Clone(p.s.Stages)
	s.Warnings.Last = slices.Clone(p.s.Warnings.Last)
	s.Errors.Last = slices.Clone(p.s.Errors.Last)
	if p.s.Adaptive != nil {
		a := *p.s.Adaptive
		a.Passes = slices.Clone(a.Passes)
		if p.pass != nil {
			a.CurrentPass = p.pass.Pass
		}
		s.Adaptive = &a
	}
	if p.s.InitialMesh != nil {
		m := *p.s.InitialMesh
		s.InitialMesh = &m
	}
	if p.s.Sweep != nil {
		sw := *p.s.Sweep
		sw.Solving = len(p.solving)
		s.Sweep = &sw
	}
	if s.Machines == nil {
		s.Machines = []Machine{}
	}
	if s.Stages == nil {
		s.Stages = []Stage{}
	}
	if s.Warnings.Last == nil {
		s.Warnings.Last = []Message{}
	}
	if s.Errors.Last == nil {
		s.Errors.Last = []Message{}
	}
	if s.Adaptive != nil && s.Adaptive.Passes == nil {
		s.Adaptive.Passes = []Pass{}
	}
	cores, known := 0, false
	for _, m := range s.Machines {
		if m.Cores != nil {
			cores += *m.Cores
			known = true
		}
	}
	if known {
		s.Cores = &cores
	}
	if s.StartedAt == nil {
		s.StartedAt = p.firstTime
	}
	if end := s.EndedAt; end != nil || s.LastActivity != nil {
		if end == nil {
			end = s.LastActivity
		}
		if s.StartedAt != nil && !end.Before(*s.StartedAt) {
			s.ElapsedSeconds = ptr(end.Sub(*s.StartedAt).Seconds())
		}
	}
	s.State = p.phase
	switch {
	case p.fatal != "":
		s.State, s.Error = StateFailed, p.fatal
	case p.normal:
		s.State = StateCompleted
	case p.stopped && p.s.Errors.Count > 0:
		s.State = StateFailed
		s.Error = p.s.Errors.Last[len(p.s.Errors.Last)-1].Text
	case p.stopped:
		s.State = StateCompleted
	}
	return s
}

// Parse reads a whole log. It fails only if r does; ok is false when
// nothing in it came from an Ansys solver.
func Parse(r io.Reader, loc *time.Location) (s Summary, ok bool, err error) {
	p := NewParser(loc)
	if _, err := io.Copy(p, r); err != nil {
		return Summary{}, false, fmt.Errorf("read solver log: %w", err)
	}
	p.Flush()
	return p.Summary(), p.Recognised(), nil
}

// ParseFile reads the log file at path. A file that does not exist is no
// error: ok is false, as for a log with nothing recognisable.
func ParseFile(path string, loc *time.Location) (s Summary, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Summary{}, false, nil
	}
	if err != nil {
		return Summary{}, false, fmt.Errorf("solver log: %w", err)
	}
	defer f.Close()
	return Parse(bufio.NewReaderSize(f, 64<<10), loc)
}

// line reads one line (without its line break).
func (p *Parser) line(b []byte) {
	p.s.Lines++
	line := strings.TrimRight(string(b), "\r")
	trimmed := strings.TrimLeft(line, " \t")
	if level, body, ok := tag(trimmed); ok {
		p.closeMessage()
		p.tagged(level, body)
		return
	}
	if p.header(strings.TrimSpace(line)) {
		p.closeMessage()
		return
	}
	if p.open {
		p.continuation(strings.TrimSpace(line))
	}
}

// tag splits "[warning] text" into its level and text.
func tag(line string) (level, body string, ok bool) {
	if len(line) < 6 || line[0] != '[' {
		return "", "", false
	}
	end := strings.IndexByte(line, ']')
	if end < 0 || end > 10 {
		return "", "", false
	}
	switch lv := strings.ToLower(line[1:end]); lv {
	case "info", "warning", "error":
		return lv, strings.TrimSpace(line[end+1:]), true
	}
	return "", "", false
}

func (p *Parser) closeMessage() {
	p.open, p.msg, p.contLines = false, nil, 0
}

// continuation adds a line to a message that has not ended (its time
// stamp comes at the end of its last line).
func (p *Parser) continuation(line string) {
	text, t, ok := splitTime(line, p.loc)
	if ok {
		p.touch(t)
	}
	if p.msg != nil && text != "" {
		p.msg.Text = truncate(p.msg.Text+"\n"+text, maxText)
		if ok && p.msg.Time == nil {
			p.msg.Time = ptr(t)
		}
	}
	p.contLines++
	if ok || p.contLines >= maxContinuation {
		p.closeMessage()
	}
}

func (p *Parser) touch(t time.Time) {
	if p.firstTime == nil {
		p.firstTime = ptr(t)
	}
	p.s.LastActivity = ptr(t)
}

// tagged reads an [info], [warning] or [error] line.
func (p *Parser) tagged(level, body string) {
	text, t, hasTime := splitTime(body, p.loc)
	var at *time.Time
	if hasTime {
		p.touch(t)
		at = ptr(t)
	}
	project, design, source, msg := splitSource(text)
	if project != "" {
		p.recognised = true
		if p.s.Project == "" {
			p.s.Project = truncate(project, maxName)
		}
	}
	if design != "" && p.s.Design == "" {
		p.s.Design = truncate(design, maxName)
	}
	p.open = !hasTime
	switch level {
	case "warning":
		p.msg = addMessage(&p.s.Warnings, at, msg)
	case "error":
		p.msg = addMessage(&p.s.Errors, at, msg)
		if fatalError(msg) && p.fatal == "" {
			p.fatal = truncate(msg, maxText)
		}
	}
	switch {
	case strings.HasPrefix(msg, "[CONVERGE]"):
		p.recognised = true
		p.setup(source)
		p.converge(strings.TrimSpace(msg[len("[CONVERGE]"):]), at)
	case strings.HasPrefix(msg, "[PROFILE]"):
		p.recognised = true
		p.setup(source)
		p.profile(strings.TrimSpace(msg[len("[PROFILE]"):]), at)
	default:
		p.message(msg)
	}
}

func addMessage(m *Messages, at *time.Time, text string) *Message {
	m.Count++
	if len(m.Last) == maxLast {
		copy(m.Last, m.Last[1:])
		m.Last = m.Last[:maxLast-1]
	}
	m.Last = append(m.Last, Message{Time: at, Text: truncate(text, maxText)})
	return &m.Last[len(m.Last)-1]
}

// fatalError reports whether an error message means the solve failed.
func fatalError(msg string) bool {
	l := strings.ToLower(msg)
	return strings.Contains(l, "completed with execution error") || strings.Contains(l, "simulation failed") ||
		strings.Contains(l, "simulation aborted") || strings.Contains(l, "terminated abnormally")
}

// setup records the solution setup that profile and convergence lines
// name, unless the command line named it.
func (p *Parser) setup(source string) {
	if source != "" && p.s.Setup == "" {
		p.s.Setup = truncate(source, maxName)
	}
}

// splitSource splits "Project:P, Design:D, text" or "Project:P, Setup : text".
func splitSource(text string) (project, design, source, msg string) {
	msg = text
	if !strings.HasPrefix(msg, "Project:") {
		return "", "", "", msg
	}
	project, msg = cutField(msg[len("Project:"):])
	if strings.HasPrefix(msg, "Design:") {
		design, msg = cutField(msg[len("Design:"):])
		if i := strings.Index(msg, " : "); i > 0 && i <= maxName && !strings.ContainsAny(msg[:i], "[]") &&
			(strings.HasPrefix(msg[i+3:], "[") || strings.Contains(msg[i+3:], "distributing")) {
			source, msg = msg[:i], msg[i+3:]
		}
		return project, design, source, msg
	}
	if i := strings.Index(msg, " : "); i > 0 && i <= maxName && !strings.ContainsAny(msg[:i], "[]") {
		source, msg = strings.TrimSpace(msg[:i]), msg[i+3:]
	}
	return project, design, source, msg
}

// cutField splits "name, rest" at the first ", ".
func cutField(s string) (field, rest string) {
	if i := strings.Index(s, ", "); i >= 0 {
		return strings.TrimSpace(s[:i]), s[i+2:]
	}
	return strings.TrimSpace(s), ""
}

var passNumber = regexp.MustCompile(`(?i)pass\s*number\D{0,3}(\d{1,6})`)

// converge reads a [CONVERGE] line: "Pass Number:  2;  Solved Elements:
// 25632;  Max Mag. Delta S:  0.50326;  Delta Output Var:  N/A;".
func (p *Parser) converge(rest string, at *time.Time) {
	if strings.Contains(strings.ToLower(rest), "has converged") {
		p.adaptive().Converged = true
		p.phase = StateConverged
	}
	m := passNumber.FindStringSubmatch(rest)
	if m == nil {
		return
	}
	n, ok := parseInt(m[1])
	if !ok || n < 1 {
		return
	}
	f := fields(rest, ";")
	pass := Pass{Pass: int(n)}
	var start *time.Time
	if p.pass != nil && p.pass.Pass == int(n) {
		pass, start = *p.pass, p.passStart
	}
	if v, ok := parseInt(f["solved elements"]); ok {
		pass.SolvedElements = &v
	} else if v, ok := parseInt(f["tetrahedra"]); ok {
		pass.SolvedElements = &v
	}
	if v, ok := parseFloat(f["max mag. delta s"]); ok {
		pass.MaxMagDeltaS = &v
	} else if v, ok := parseFloat(f["delta s"]); ok {
		pass.MaxMagDeltaS = &v
	}
	if v, ok := parseFloat(f["delta output var"]); ok {
		pass.DeltaOutputVar = &v
	}
	if v, ok := parseFloat(f["target"]); ok {
		p.adaptive().TargetMaxMagDeltaS = &v
	}
	pass.EndedAt = at
	if start != nil && at != nil && !at.Before(*start) {
		pass.ElapsedSeconds = ptr(at.Sub(*start).Seconds())
	}
	p.finishPass(pass)
}

// fields reads "Key: value" pairs separated by sep, keys in lower case.
func fields(s, sep string) map[string]string {
	out := map[string]string{}
	for part := range strings.SplitSeq(s, sep) {
		k, v, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.Join(strings.Fields(k), " "))
		if _, dup := out[k]; !dup && k != "" {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

func (p *Parser) adaptive() *Adaptive {
	if p.s.Adaptive == nil {
		p.s.Adaptive = &Adaptive{}
	}
	return p.s.Adaptive
}

func (p *Parser) finishPass(pass Pass) {
	a := p.adaptive()
	if p.lastPassNo > 0 && pass.Pass <= p.lastPassNo {
		// The passes start again: another adaptive solve (a variation,
		// another setup). The summary follows the latest.
		a.Passes, a.Converged = nil, false
	}
	if pass.Frequency == "" {
		pass.Frequency = a.Frequency
	}
	if len(a.Passes) == maxPasses {
		a.Passes = slices.Delete(a.Passes, 0, 1)
	}
	a.Passes = append(a.Passes, pass)
	p.lastPassNo = pass.Pass
	p.pass, p.passStart = nil, nil
	if !a.Converged && p.phase != StateSweeping {
		p.phase = StateAdaptive
	}
}

var (
	fromTo        = regexp.MustCompile(`^From (\S+) to (\S+), (\d{1,9}) Frequenc`)
	basisElement  = regexp.MustCompile(`^Basis Element # ?(\d{1,9})`)
	sweepSolution = regexp.MustCompile(`(?i)sweep converged after\s+(\d{1,9}) solution`)
	targetDelta   = regexp.MustCompile(`(?i)target[^:;=]{0,40}delta s\s*[:=]\s*([0-9.eE+-]{1,20})`)
	taskMemory    = regexp.MustCompile(`Memory:? ([0-9][0-9.eE+]{0,15}) ?([KMGT])`)
)

// profile reads a [PROFILE] line: "Name : detail" or a bare note.
func (p *Parser) profile(rest string, at *time.Time) {
	name, detail, hasDetail := strings.Cut(rest, " : ")
	name, detail = strings.TrimSpace(name), strings.TrimSpace(detail)
	switch {
	case !hasDetail:
		p.profileNote(name)
	case strings.Contains(detail, "Real Time"):
		p.task(name, detail)
	case name == "Solution Process":
		f := fields(detail, ", ")
		if v := f["host"]; v != "" {
			p.s.Host = truncate(v, maxName)
		}
		if v := f["product"]; v != "" {
			solver, version := v, ""
			if i := strings.LastIndexByte(v, ' '); i > 0 {
				solver, version = v[:i], v[i+1:]
			}
			solver = strings.TrimSuffix(solver, " Version")
			if p.s.Solver == "" {
				p.s.Solver = truncate(solver, maxName)
				p.s.SolverVersion = truncate(version, maxName)
			}
		}
	case name == "Machine":
		p.profileMachine(fields(detail, ", "))
	case name == "Initial Meshing":
		p.startStage(name, detail, at)
		if p.phase == StateStarting {
			p.phase = StateMeshing
		}
	case name == "Adaptive Meshing":
		p.startStage(name, detail, at)
		p.phase = StateAdaptive
	case name == "Frequency Sweep":
		p.startStage(name, detail, at)
		p.sweep()
		p.phase = StateSweeping
	case name == "Stop":
		if v, ok := strings.CutPrefix(detail, "Elapsed Time:"); ok {
			v, _, _ = strings.Cut(v, ",")
			if d, ok := parseDuration(v); ok {
				p.endStage(d)
			}
		}
	case strings.HasPrefix(name, "Adaptive Pass "):
		n, ok := parseInt(strings.TrimPrefix(name, "Adaptive Pass "))
		if !ok || n < 1 {
			return
		}
		freq := ""
		if v, ok := strings.CutPrefix(detail, "Frequency:"); ok {
			freq = truncate(strings.TrimSpace(v), maxName)
		}
		a := p.adaptive()
		if freq != "" {
			a.Frequency = freq
		}
		p.pass = &Pass{Pass: int(n), Frequency: freq}
		p.passStart = at
		if p.phase != StateSweeping {
			p.phase = StateAdaptive
		}
	case strings.HasPrefix(name, "Solution - "):
		sw := p.sweep()
		sw.Name = truncate(strings.TrimPrefix(name, "Solution - "), maxName)
		if kind := sweepKind(detail); kind != "" {
			sw.Kind = kind
		}
		p.phase = StateSweeping
	case strings.HasPrefix(name, "Frequency - "):
		freq := truncate(strings.TrimSpace(strings.TrimPrefix(name, "Frequency - ")), maxName)
		sw := p.sweep()
		p.phase = StateSweeping
		if strings.HasPrefix(strings.ToLower(detail), "elapsed time") {
			p.frequencyDone(sw, freq)
			return
		}
		if len(p.solving) < maxSolving {
			if p.solving == nil {
				p.solving = map[string]bool{}
			}
			p.solving[freq] = true
		}
		p.lastRun = freq
	case name == "SIwave AC simulation" || strings.HasPrefix(name, "SIwave "):
		p.s.Solver = "SIwave"
	}
}

// profileNote reads a [PROFILE] line without a "Name : detail" shape.
func (p *Parser) profileNote(note string) {
	switch {
	case strings.Contains(note, "Adaptive Passes converged"):
		p.adaptive().Converged = true
		if p.phase != StateSweeping {
			p.phase = StateConverged
		}
	case strings.Contains(note, "Adaptive Passes did not converge"):
		p.adaptive().Converged = false
	case strings.HasPrefix(note, "From "):
		if m := fromTo.FindStringSubmatch(note); m != nil {
			sw := p.sweep()
			sw.Start, sw.Stop = truncate(m[1], maxName), truncate(m[2], maxName)
			if n, ok := parseInt(m[3]); ok {
				sw.Points = ptr(int(n))
			}
		}
	case strings.HasPrefix(note, "Basis Element"):
		if m := basisElement.FindStringSubmatch(note); m != nil {
			if n, ok := parseInt(m[1]); ok {
				sw := p.sweep()
				sw.BasisElements = max(sw.BasisElements, int(n))
			}
		}
	case strings.HasPrefix(note, "Matrix solved"):
		// SIwave: a frequency's matrix is solved; no elapsed-time line follows.
		if p.s.Sweep != nil && p.solving[p.lastRun] {
			p.frequencyDone(p.s.Sweep, p.lastRun)
		}
	case strings.HasPrefix(note, "Stop Time:"):
		if strings.Contains(note, "Status: Normal Completion") {
			p.normal = true
		}
	default:
		if m := sweepSolution.FindStringSubmatch(note); m != nil {
			sw := p.sweep()
			sw.Converged = true
			if sw.Kind == "" {
				sw.Kind = sweepKind(note)
			}
			if n, ok := parseInt(m[1]); ok {
				sw.Solved = max(sw.Solved, int(n))
			}
			clear(p.solving)
		} else if m := targetDelta.FindStringSubmatch(note); m != nil {
			if v, ok := parseFloat(m[1]); ok {
				p.adaptive().TargetMaxMagDeltaS = &v
			}
		}
	}
}

func (p *Parser) frequencyDone(sw *Sweep, freq string) {
	delete(p.solving, freq)
	sw.Solved++
	sw.LastFrequency = freq
	sw.LastSolvedAt = p.s.LastActivity
}

// task reads a profiled task: "Matrix Solve : Real Time 00:00:01 : CPU
// Time 00:00:02 : Memory 480 M : Type: DCS-L2, Cores: 2, Matrix size: ...".
func (p *Parser) task(name, detail string) {
	var cpu, real, mem *float64
	var matrix, tets *int64
	for part := range strings.SplitSeq(detail, " : ") {
		part = strings.TrimSpace(part)
		switch {
		case strings.HasPrefix(part, "CPU Time"):
			if d, ok := parseDuration(strings.TrimPrefix(part, "CPU Time")); ok {
				cpu = &d
			}
		case strings.HasPrefix(part, "Real Time"):
			if d, ok := parseDuration(strings.TrimPrefix(part, "Real Time")); ok {
				real = &d
			}
		case strings.HasPrefix(part, "Tetrahedra"):
			if v, ok := parseInt(fields(part, ", ")["tetrahedra"]); ok {
				tets = &v
			}
		case strings.HasPrefix(part, "Memory"):
			if m := taskMemory.FindStringSubmatch(part); m != nil {
				if v, ok := megabytes(m[1], m[2]); ok {
					mem = &v
				}
			}
		default:
			if v, ok := parseInt(fields(part, ", ")["matrix size"]); ok {
				matrix = &v
			}
		}
	}
	if mem != nil && (p.s.PeakMemoryMB == nil || *mem > *p.s.PeakMemoryMB) {
		p.s.PeakMemoryMB = ptr(*mem)
	}
	if p.phase == StateStarting && meshTask(name) {
		p.phase = StateMeshing
	}
	if p.pass == nil && p.stage >= 0 && p.s.Stages[p.stage].Name == "Initial Meshing" {
		p.initialMesh(real, cpu, mem, tets)
	}
	if p.pass == nil {
		return
	}
	if cpu != nil {
		p.pass.CPUSeconds = ptr(deref(p.pass.CPUSeconds) + *cpu)
	}
	if mem != nil && (p.pass.PeakMemoryMB == nil || *mem > *p.pass.PeakMemoryMB) {
		p.pass.PeakMemoryMB = ptr(*mem)
	}
	if matrix != nil {
		p.pass.MatrixSize = matrix
	}
}

// initialMesh adds a task of the Initial Meshing stage: the mesh's size is
// the last task's count (the mesh the adaptive passes start from), the
// times add up, the memory is the most any task used.
func (p *Parser) initialMesh(real, cpu, mem *float64, tets *int64) {
	m := p.s.InitialMesh
	if m == nil {
		m = &InitialMesh{}
		p.s.InitialMesh = m
	}
	if tets != nil {
		m.Tetrahedra = ptr(*tets)
	}
	if real != nil {
		m.RealSeconds = ptr(deref(m.RealSeconds) + *real)
	}
	if cpu != nil {
		m.CPUSeconds = ptr(deref(m.CPUSeconds) + *cpu)
	}
	if mem != nil && (m.PeakMemoryMB == nil || *mem > *m.PeakMemoryMB) {
		m.PeakMemoryMB = ptr(*mem)
	}
}

func meshTask(name string) bool {
	l := strings.ToLower(name)
	return strings.Contains(l, "mesh") || strings.Contains(l, "coarsen") || strings.Contains(l, "refine")
}

func sweepKind(detail string) string {
	l := strings.ToLower(detail)
	for _, k := range []string{"interpolating", "discrete", "fast"} {
		if strings.Contains(l, k) {
			return k
		}
	}
	return ""
}

func (p *Parser) sweep() *Sweep {
	if p.s.Sweep == nil {
		p.s.Sweep = &Sweep{}
	}
	return p.s.Sweep
}

// profileMachine reads "Name: host, Memory: 63.8 GB, RAM Limit:
// 90.000000%, Tasks: 2, Cores: 2, Free Disk Space: 397 GB".
func (p *Parser) profileMachine(f map[string]string) {
	name := f["name"]
	if name == "" {
		return
	}
	if !p.profileMachines {
		// The profile's machines replace the header's list.
		p.profileMachines = true
		p.s.Machines = nil
	}
	m := Machine{Name: truncate(name, maxName)}
	if v, ok := parseInt(f["cores"]); ok {
		m.Cores = ptr(int(v))
	}
	if v, ok := parseInt(f["tasks"]); ok {
		m.Tasks = ptr(int(v))
	}
	if v, ok := parseFloat(strings.TrimSuffix(f["ram limit"], "%")); ok {
		m.RAMLimitPercent = &v
	}
	if num, unit, ok := strings.Cut(f["memory"], " "); ok {
		if v, ok := megabytes(num, strings.TrimSuffix(unit, "B")); ok {
			m.MemoryGB = ptr(v / 1024)
		}
	}
	p.addMachine(m)
}

func (p *Parser) addMachine(m Machine) {
	for i := range p.s.Machines {
		if strings.EqualFold(p.s.Machines[i].Name, m.Name) {
			p.s.Machines[i] = m
			return
		}
	}
	if len(p.s.Machines) < maxMachines {
		p.s.Machines = append(p.s.Machines, m)
	}
}

func (p *Parser) startStage(name, detail string, at *time.Time) {
	started := at
	if v, ok := strings.CutPrefix(detail, "Time:"); ok {
		if t, ok := parseTime(v, p.loc); ok {
			started = &t
		}
	}
	if p.stage >= 0 {
		// A stage without its Stop line: it ended when the next began.
		prev := &p.s.Stages[p.stage]
		if prev.StartedAt != nil && started != nil && !started.Before(*prev.StartedAt) {
			prev.ElapsedSeconds = ptr(started.Sub(*prev.StartedAt).Seconds())
		}
		p.stage = -1
	}
	if len(p.s.Stages) == maxStages {
		return
	}
	p.s.Stages = append(p.s.Stages, Stage{Name: name, StartedAt: started})
	p.stage = len(p.s.Stages) - 1
}

func (p *Parser) endStage(seconds float64) {
	if p.stage < 0 {
		return
	}
	p.s.Stages[p.stage].ElapsedSeconds = &seconds
	p.stage = -1
}

// message reads the text of an [info], [warning] or [error] line that is
// neither a profile nor a convergence line.
func (p *Parser) message(msg string) {
	switch {
	case strings.HasPrefix(msg, "Using command line:"):
		p.recognised = true
		p.commandLine(strings.TrimSpace(strings.TrimPrefix(msg, "Using command line:")))
	case strings.Contains(msg, "Normal completion of simulation"):
		p.recognised = true
		p.normal = true
	case strings.HasPrefix(msg, "siwave_ng") || strings.HasPrefix(msg, "siwave "):
		p.s.Solver = "SIwave"
		if v, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(msg, "siwave_ng"), "siwave"), "("); ok {
			p.s.SolverVersion = truncate(strings.TrimSpace(v), maxName)
		}
	case strings.HasPrefix(msg, "An interpolating frequency sweep with "):
		sw := p.sweep()
		sw.Kind = "interpolating"
		n, _, _ := strings.Cut(strings.TrimPrefix(msg, "An interpolating frequency sweep with "), " ")
		if n, ok := parseInt(n); ok && sw.Points == nil {
			sw.Points = ptr(int(n))
		}
	}
}

// commandLine records the solver's command line and what it solves
// (-batchsolve design:mode:setup).
func (p *Parser) commandLine(cl string) {
	cl = strings.TrimSuffix(cl, ".")
	if len(cl) >= 2 && cl[0] == '"' && cl[len(cl)-1] == '"' {
		cl = cl[1 : len(cl)-1]
	}
	p.s.CommandLine = truncate(cl, maxCommand)
	_, after, ok := strings.Cut(cl, "-batchsolve ")
	if !ok {
		return
	}
	target := strings.Fields(after)
	if len(target) == 0 {
		return
	}
	// design:mode:setup (a Windows path has one colon, after its drive).
	parts := strings.Split(target[0], ":")
	if len(parts) != 3 || strings.ContainsAny(target[0], `\/`) {
		return
	}
	if parts[0] != "" {
		p.s.Design = truncate(parts[0], maxName)
	}
	if parts[2] != "" {
		p.s.Setup = truncate(parts[2], maxName)
	}
}

var (
	desktopVersion = regexp.MustCompile(`^(Ansys[^,]*?|ANSYS[^,]*?) Version (\S+?),?(?: Build: (.*))?$`)
	headerMachine  = regexp.MustCompile(`^(\S+) RAM: ([0-9.]+)%, (task\d+:.*)$`)
	taskCores      = regexp.MustCompile(`task\d+:(\d{1,6}) cores`)
)

// header reads an untagged line of the log's head, and reports whether it
// was one.
func (p *Parser) header(line string) bool {
	after := func(prefix string) (string, bool) {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return strings.TrimSpace(v), true
		}
		return "", false
	}
	if v, ok := after("Batch Solve/Save:"); ok {
		p.recognised = true
		p.s.ProjectPath = truncate(v, maxCommand)
		return true
	}
	if v, ok := after("Starting Batch Run:"); ok {
		p.recognised = true
		if t, ok := parseTime(v, p.loc); ok {
			p.s.StartedAt = &t
			p.touch(t)
		}
		return true
	}
	if v, ok := after("Stopping Batch Run:"); ok {
		p.recognised = true
		p.stopped = true
		if t, ok := parseTime(v, p.loc); ok {
			p.s.EndedAt = &t
			p.touch(t)
		}
		return true
	}
	if v, ok := after("Running as user"); ok {
		p.s.User = truncate(strings.TrimSpace(strings.TrimPrefix(v, ":")), maxName)
		return true
	}
	if v, ok := after("Design type:"); ok {
		if p.s.DesignType == "" {
			p.s.DesignType = truncate(v, maxName)
		}
		return true
	}
	if m := desktopVersion.FindStringSubmatch(line); m != nil {
		p.recognised = true
		p.s.Product = truncate(m[1], maxName)
		p.s.Version = truncate(m[2], maxName)
		p.s.Build = truncate(strings.TrimSpace(m[3]), maxName)
		return true
	}
	if m := headerMachine.FindStringSubmatch(line); m != nil {
		if !p.profileMachines {
			mc := Machine{Name: truncate(m[1], maxName)}
			if v, ok := parseFloat(m[2]); ok {
				mc.RAMLimitPercent = &v
			}
			cores, tasks := 0, 0
			for _, t := range taskCores.FindAllStringSubmatch(m[3], maxSolving) {
				if n, ok := parseInt(t[1]); ok {
					cores += int(n)
					tasks++
				}
			}
			if tasks > 0 {
				mc.Cores, mc.Tasks = ptr(cores), ptr(tasks)
			}
			p.addMachine(mc)
		}
		return true
	}
	for _, prefix := range []string{"Location:", "Temp directory:", "Project directory:", "Simulation settings:", "Machines:"} {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}
