package dashboard_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/simjobs/simjobs/engine"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func projectOf(j engine.Job) string {
	var c struct {
		ProjectPath string `json:"project_path"`
	}
	_ = json.Unmarshal(j.Config, &c)
	return c.ProjectPath
}

func pad3(i int) string { return fmt.Sprintf("%03d", i) }

var rowRE = regexp.MustCompile(`<tr id="row-([^"]+)"`)

func rowIDs(body string) []string {
	var ids []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// between is the text after the first start and before the next end.
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// link is the href of the pager's rel link.
func link(body, rel string) string {
	end := strings.Index(body, `" rel="`+rel+`"`)
	if end < 0 {
		return ""
	}
	start := strings.LastIndex(body[:end], `href="`)
	return html.UnescapeString(body[start+len(`href="`) : end])
}
