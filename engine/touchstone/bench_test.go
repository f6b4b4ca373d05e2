package touchstone

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkParse reads a 4-port, 10,001-point sweep (a large HFSS
// export); BenchmarkParseBaseline only splits and converts the same
// numbers, the floor any parser pays. Compare the two from one run:
//
//	go test -run '^$' -bench Parse ./engine/touchstone/
func BenchmarkParse(b *testing.B) {
	text := bigFile()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse(strings.NewReader(text), 4); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseBaseline(b *testing.B) {
	text := bigFile()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		n := 0
		for _, line := range strings.Split(text, "\n") {
			if i := strings.IndexByte(line, '!'); i >= 0 {
				line = line[:i]
			}
			if strings.HasPrefix(line, "#") {
				continue
			}
			for _, f := range strings.Fields(line) {
				if _, err := strconv.ParseFloat(f, 64); err == nil {
					n++
				}
			}
		}
		if n == 0 {
			b.Fatal("no numbers")
		}
	}
}

func bigFile() string {
	nw := sample(4)
	base := nw.Data[0]
	nw.Freqs, nw.Data = nil, nil
	for f := range 10001 {
		nw.Freqs = append(nw.Freqs, 1e8+float64(f)*1e6)
		nw.Data = append(nw.Data, base)
	}
	return write(nw, MA, "GHz", "v1")
}
