// Package touchstone reads Touchstone network-parameter files (.s1p ...
// .sNp), versions 1.x and 2.x, as HFSS, SIwave and network analysers write
// them: the option line (frequency unit, parameter, RI/MA/DB format,
// reference resistance), comments, any line wrapping of the numbers, the
// 2.x keywords ([Version], [Number of Ports], [Two-Port Data Order],
// [Matrix Format] Full/Lower/Upper, [Reference], [Network Data], [Noise
// Data], [End]) and noise data, which is skipped.
package touchstone

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/cmplx"
	"path/filepath"
	"strconv"
	"strings"
)

// Format is how a complex value is written.
type Format string

// The three formats of the option line.
const (
	RI Format = "RI" // real, imaginary
	MA Format = "MA" // magnitude, angle in degrees
	DB Format = "DB" // 20·log10 magnitude, angle in degrees
)

// Limits that keep a hostile or broken file from taking the server's
// memory: a 512-port matrix is far beyond any real solve, and a file with
// more values than MaxValues is refused rather than half-read.
const (
	MaxPorts  = 512
	MaxValues = 64 << 20
)

// Network is one parsed file.
type Network struct {
	Version   string    // "1.0" for files without [Version], else as written
	Ports     int       // N
	Parameter string    // S, Y, Z, H or G
	Format    Format    // as written in the file
	Z0        []float64 // reference impedance per port, ohms
	Freqs     []float64 // Hz, ascending
	// Data holds, per frequency, the N×N matrix row-major: Data[f][i*N+j]
	// is parameter (i+1, j+1). Lower/Upper matrices are filled in
	// symmetrically.
	Data [][]complex128
}

// Value is parameter (i, j) (0-based) at frequency index f.
func (n *Network) Value(f, i, j int) complex128 { return n.Data[f][i*n.Ports+j] }

// Name is the conventional name of parameter (i, j), 0-based: "S21".
func (n *Network) Name(i, j int) string {
	if n.Ports < 10 {
		return fmt.Sprintf("%s%d%d", n.Parameter, i+1, j+1)
	}
	return fmt.Sprintf("%s%d,%d", n.Parameter, i+1, j+1)
}

// PortsFromName is N of a file named like x.sNp (any case); ok false for
// any other name.
func PortsFromName(name string) (int, bool) {
	ext := strings.ToLower(filepath.Ext(name))
	if len(ext) < 4 || ext[1] != 's' || ext[len(ext)-1] != 'p' {
		return 0, false
	}
	n, err := strconv.Atoi(ext[2 : len(ext)-1])
	if err != nil || n < 1 || n > MaxPorts || strconv.Itoa(n) != ext[2:len(ext)-1] {
		return 0, false
	}
	return n, true
}

// SyntaxError is a file that is not Touchstone, with the line at fault.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "touchstone: " + e.Msg
	}
	return fmt.Sprintf("touchstone: line %d: %s", e.Line, e.Msg)
}

// Parse reads a Touchstone file. ports is N from the file name (see
// PortsFromName); a 2.x file's [Number of Ports] takes precedence, and a
// 1.x file needs it (0 is an error for those).
func Parse(r io.Reader, ports int) (*Network, error) {
	p := &parser{
		n:      &Network{Version: "1.0", Ports: ports, Parameter: "S", Format: MA},
		unit:   1e9,
		r0:     50,
		matrix: "full",
		order:  "21_12",
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		p.line++
		if err := p.handle(sc.Text()); err != nil {
			return nil, err
		}
		if p.done {
			break
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &SyntaxError{Line: p.line + 1, Msg: "line longer than 1 MiB"}
		}
		return nil, fmt.Errorf("touchstone: %w", err)
	}
	return p.finish()
}

type parser struct {
	n       *Network
	line    int
	sawOpt  bool
	v2      bool
	unit    float64
	r0      float64
	matrix  string // full, lower, upper
	order   string // 12_21 or 21_12 (2-port only; 2.0 requires the keyword, files that omit it mean the 1.x order)
	inData  bool   // 2.x: after [Network Data]
	noise   bool   // in noise data: ignored
	done    bool   // [End]
	refMore bool   // [Reference] continues on the next line
	vals    []float64
	per     int // numbers per frequency point
	last    float64
	count   int
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) handle(line string) error {
	if i := strings.IndexByte(line, '!'); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	if line[0] == '[' {
		p.refMore = false
		return p.keyword(line)
	}
	if line[0] == '#' {
		if p.sawOpt {
			return nil // only the first option line counts (1.x rule)
		}
		p.sawOpt = true
		return p.option(line[1:])
	}
	if p.refMore {
		if err := p.reference(line); err != nil {
			return err
		}
		return nil
	}
	if p.noise {
		return nil
	}
	if p.v2 && !p.inData {
		return p.errorf("numbers before [Network Data]")
	}
	return p.numbers(line)
}

func (p *parser) keyword(line string) error {
	end := strings.IndexByte(line, ']')
	if end < 0 {
		return p.errorf("keyword without ']'")
	}
	key := strings.ToLower(strings.Join(strings.Fields(line[1:end]), " "))
	arg := strings.TrimSpace(line[end+1:])
	if key == "version" {
		if p.line > 0 && (p.sawOpt || p.inData || p.count > 0) {
			return p.errorf("[Version] must come first")
		}
		p.v2 = true
		p.n.Version = arg
		if !strings.HasPrefix(arg, "2") {
			return p.errorf("unsupported [Version] %q", arg)
		}
		return nil
	}
	if !p.v2 {
		return p.errorf("keyword [%s] in a file without [Version] 2.x", line[1:end])
	}
	switch key {
	case "number of ports":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 || n > MaxPorts {
			return p.errorf("[Number of Ports] must be 1 to %d, got %q", MaxPorts, arg)
		}
		p.n.Ports = n
	case "two-port data order":
		switch arg {
		case "12_21", "21_12":
			p.order = arg
		default:
			return p.errorf("[Two-Port Data Order] must be 12_21 or 21_12, got %q", arg)
		}
	case "matrix format":
		switch m := strings.ToLower(arg); m {
		case "full", "lower", "upper":
			p.matrix = m
		default:
			return p.errorf("[Matrix Format] must be Full, Lower or Upper, got %q", arg)
		}
	case "reference":
		p.n.Z0 = p.n.Z0[:0]
		p.refMore = true
		if arg != "" {
			return p.reference(arg)
		}
	case "network data":
		if p.n.Ports < 1 {
			return p.errorf("[Network Data] before [Number of Ports]")
		}
		p.inData = true
	case "noise data":
		p.noise = true
	case "end":
		p.done = true
	case "number of frequencies", "number of noise frequencies", "mixed-mode order", "begin information", "end information":
		// Counts are checked by the data itself; the rest is not needed to plot.
	default:
		// Unknown keywords of later revisions are skipped.
	}
	return nil
}

// reference reads [Reference] values, which may continue over lines until
// there is one per port.
func (p *parser) reference(s string) error {
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !finite(v) {
			return p.errorf("[Reference] value %q is not a number", f)
		}
		p.n.Z0 = append(p.n.Z0, v)
	}
	if p.n.Ports > 0 && len(p.n.Z0) >= p.n.Ports {
		p.refMore = false
		p.n.Z0 = p.n.Z0[:p.n.Ports]
	}
	return nil
}

var units = map[string]float64{"hz": 1, "khz": 1e3, "mhz": 1e6, "ghz": 1e9}

func (p *parser) option(s string) error {
	f := strings.Fields(strings.ToLower(s))
	for i := 0; i < len(f); i++ {
		switch w := f[i]; w {
		case "hz", "khz", "mhz", "ghz":
			p.unit = units[w]
		case "s", "y", "z", "h", "g":
			p.n.Parameter = strings.ToUpper(w)
		case "ri", "ma", "db":
			p.n.Format = Format(strings.ToUpper(w))
		case "r":
			if i+1 >= len(f) {
				return p.errorf("option line: R without a value")
			}
			v, err := strconv.ParseFloat(f[i+1], 64)
			if err != nil || !finite(v) {
				return p.errorf("option line: R value %q is not a number", f[i+1])
			}
			p.r0 = v
			i++
		default:
			return p.errorf("option line: unknown word %q", w)
		}
	}
	return nil
}

// numbers adds a line of data: the points of a frequency may span lines,
// so numbers are collected until a point is complete.
func (p *parser) numbers(line string) error {
	if p.n.Ports < 1 {
		return p.errorf("the number of ports is unknown (name the file .sNp)")
	}
	if p.per == 0 {
		n := p.n.Ports
		cells := n * n
		if p.matrix != "full" {
			cells = n * (n + 1) / 2
		}
		p.per = 1 + 2*cells
	}
	for _, f := range strings.Fields(line) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !finite(v) {
			return p.errorf("%q is not a number", f)
		}
		if len(p.vals) == 0 && p.count > 0 && v <= p.last {
			// A frequency that does not increase starts the noise data of a
			// 1.x two-port file.
			if !p.v2 && p.n.Ports == 2 {
				p.noise = true
				return nil
			}
			return p.errorf("frequency %s does not increase", f)
		}
		p.vals = append(p.vals, v)
		if len(p.vals) == p.per {
			if err := p.point(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) point() error {
	n := p.n.Ports
	if (p.count+1)*(p.per-1) > MaxValues {
		return p.errorf("more than %d values", MaxValues)
	}
	m := make([]complex128, n*n)
	k := 1
	bad := false
	next := func() complex128 {
		a, b := p.vals[k], p.vals[k+1]
		k += 2
		v := toComplex(p.n.Format, a, b)
		if cmplx.IsInf(v) || cmplx.IsNaN(v) {
			bad = true
		}
		return v
	}
	for i := range n {
		for j := range n {
			switch {
			case p.matrix == "lower" && j > i, p.matrix == "upper" && j < i:
				continue
			}
			m[i*n+j] = next()
		}
	}
	switch p.matrix {
	case "lower":
		for i := range n {
			for j := i + 1; j < n; j++ {
				m[i*n+j] = m[j*n+i]
			}
		}
	case "upper":
		for i := range n {
			for j := range i {
				m[i*n+j] = m[j*n+i]
			}
		}
	}
	hz := p.vals[0] * p.unit
	if bad || !finite(hz) {
		return p.errorf("a value of frequency %g is out of range", p.vals[0])
	}
	if n == 2 && p.order == "21_12" && p.matrix == "full" {
		// Two-port files list N11 N21 N12 N22 (1.x always, 2.x by default).
		m[1], m[2] = m[2], m[1]
	}
	p.last = p.vals[0]
	p.n.Freqs = append(p.n.Freqs, hz)
	p.n.Data = append(p.n.Data, m)
	p.count++
	p.vals = p.vals[:0]
	return nil
}

func (p *parser) finish() (*Network, error) {
	if p.v2 && p.n.Ports < 1 {
		return nil, &SyntaxError{Msg: "[Number of Ports] is missing"}
	}
	if len(p.vals) != 0 {
		return nil, &SyntaxError{Line: p.line, Msg: fmt.Sprintf("the last frequency point has %d of its %d numbers", len(p.vals), p.per)}
	}
	if p.count == 0 {
		return nil, &SyntaxError{Line: p.line, Msg: "no network data"}
	}
	if len(p.n.Z0) == 0 {
		p.n.Z0 = make([]float64, p.n.Ports)
		for i := range p.n.Z0 {
			p.n.Z0[i] = p.r0
		}
	} else if len(p.n.Z0) < p.n.Ports {
		return nil, &SyntaxError{Msg: fmt.Sprintf("[Reference] has %d values for %d ports", len(p.n.Z0), p.n.Ports)}
	}
	return p.n, nil
}

func toComplex(f Format, a, b float64) complex128 {
	switch f {
	case RI:
		return complex(a, b)
	case DB:
		return cmplx.Rect(math.Pow(10, a/20), b*math.Pi/180)
	}
	return cmplx.Rect(a, b*math.Pi/180)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// MinDB is the floor of Decibels: a zero magnitude would be -Inf, which JSON
// cannot carry.
const MinDB = -400

// Decibels is 20·log10|v|, at least MinDB.
func Decibels(v complex128) float64 {
	a := cmplx.Abs(v)
	if a == 0 {
		return MinDB
	}
	return max(20*math.Log10(a), MinDB)
}

// PhaseDeg is the angle of v in degrees, -180 to 180.
func PhaseDeg(v complex128) float64 { return cmplx.Phase(v) * 180 / math.Pi }
