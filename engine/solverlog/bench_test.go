package solverlog

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// BenchmarkParse reads the real HFSS sample (or our fixture) repeated to
// about 4 MB: the cost of GET /api/jobs/{id}/log on a long log.
func BenchmarkParse(b *testing.B) {
	log, err := os.ReadFile(samplesDir + "/hfss-3dlayout-batch.log")
	if err != nil {
		log, err = os.ReadFile(fixtures["hfss-complete"])
		if err != nil {
			b.Fatal(err)
		}
	}
	big := bytes.Repeat(log, 4<<20/len(log))
	b.SetBytes(int64(len(big)))
	for b.Loop() {
		if _, _, err := Parse(bytes.NewReader(big), time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}
