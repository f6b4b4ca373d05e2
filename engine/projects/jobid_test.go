package projects

import (
	"regexp"
	"testing"
)

func TestJobID(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	a := JobID("/data/run/board v2.aedt", "", "")
	if a != JobID("/data/run/./board v2.aedt", "", "") {
		t.Errorf("the same project gives two ids")
	}
	for _, other := range []string{JobID("/data/other/board v2.aedt", "", ""), JobID("/data/run/board v2.aedt", "main", ""), JobID("/data/run/board v2.aedt", "", "Setup2")} {
		if other == a {
			t.Errorf("another project or setup gives the same id %s", a)
		}
	}
	long := "/x/" + string(make([]byte, 0)) + "ü" + regexp.QuoteMeta("a") + "😀"
	for i := 0; i < 200; i++ {
		long += "b"
	}
	for _, id := range []string{a, JobID(long+".aedb", "d", "s")} {
		if !valid.MatchString(id) {
			t.Errorf("%q is not a valid job id", id)
		}
	}
	if want := "board_v2_aedt_"; a[:len(want)] != want {
		t.Errorf("id %q does not start with the project's name", a)
	}
}
