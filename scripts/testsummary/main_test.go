package main

import (
	"strings"
	"testing"
)

const input = `{"Action":"start","Package":"example/a"}
{"Action":"run","Package":"example/a","Test":"TestOK"}
{"Action":"output","Package":"example/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"example/a","Test":"TestOK","Elapsed":0}
{"Action":"run","Package":"example/a","Test":"TestBrowser"}
{"Action":"output","Package":"example/a","Test":"TestBrowser","Output":"=== RUN   TestBrowser\n"}
{"Action":"output","Package":"example/a","Test":"TestBrowser","Output":"    browser_test.go:42: skipping browser test: chromium is not installed\n"}
{"Action":"output","Package":"example/a","Test":"TestBrowser","Output":"--- SKIP: TestBrowser (0.00s)\n"}
{"Action":"skip","Package":"example/a","Test":"TestBrowser","Elapsed":0}
{"Action":"run","Package":"example/a","Test":"TestBroken"}
{"Action":"output","Package":"example/a","Test":"TestBroken","Output":"    a_test.go:7: got 2, want 3\n"}
{"Action":"fail","Package":"example/a","Test":"TestBroken","Elapsed":0}
{"Action":"fail","Package":"example/a","Elapsed":0.5}
{"Action":"pass","Package":"example/b","Elapsed":1.25}
`

func TestSummarise(t *testing.T) {
	var b strings.Builder
	failed, err := summarise(strings.NewReader(input), &b)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	got := b.String()
	for _, want := range []string{
		"a_test.go:7: got 2, want 3", "FAIL\texample/a", "ok  \texample/b\t1.2s",
		"1 tests skipped:\n  1 × skipping browser test: chromium is not installed\n      example/a.TestBrowser\n",
		"1 failed:\n  example/a TestBroken\n",
		"\ntests: 1 passed, 1 failed, 1 skipped\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "=== RUN   TestOK") {
		t.Errorf("a passing test's output is shown:\n%s", got)
	}
	var ok strings.Builder
	if failed, _ := summarise(strings.NewReader(`{"Action":"pass","Package":"example/b","Elapsed":1}`+"\n"), &ok); failed {
		t.Error("a passing run reads as failed")
	}
}
