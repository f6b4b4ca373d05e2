package client_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestImportGraph: a program using the client compiles the wire format
// (server/apitype) and nothing else of simjobs, and none of the server's
// heavy dependencies. The client importing engine/ or server/ again would
// bring back the ~270 packages it used to cost.
func TestImportGraph(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no go tool on PATH:", err)
		}
		t.Skip("no go tool on PATH:", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", "github.com/simjobs/simjobs/client").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/simjobs/simjobs/"
	allowed := map[string]bool{module + "client": true, module + "server/apitype": true}
	forbidden := []string{"github.com/gofiber/", "github.com/valyala/", "github.com/fasthttp/", "github.com/shirou/gopsutil", "modernc.org/", "sqlite"}
	deps := strings.Fields(string(out))
	for _, p := range deps {
		if strings.HasPrefix(p, module) && !allowed[p] {
			t.Errorf("the client imports %s: only the wire format (server/apitype) may be imported", p)
		}
		for _, f := range forbidden {
			if strings.Contains(p, f) {
				t.Errorf("the client depends on %s", p)
			}
		}
	}
	t.Logf("go list -deps ./client: %d packages", len(deps))
}
