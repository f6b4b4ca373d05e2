package submit

import "net/url"

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
