package submit

import (
	"net/url"
	"strconv"
)

func groupHasError(g Group, errs map[string]string) bool {
	for _, f := range g.Fields {
		if errs[f.Name] != "" {
			return true
		}
	}
	return false
}

func browseURL(dir, target string) string {
	return "/ui/submit/browse?" + url.Values{"dir": {dir}, "target": {target}}.Encode()
}

// correctFields asks to correct the n fields marked.
func correctFields(n int) string {
	if n == 1 {
		return "Please correct the field marked below."
	}
	return "Please correct the " + strconv.Itoa(n) + " fields marked below."
}
