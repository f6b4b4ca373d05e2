package cluster

import "strings"

// Lines returns the lines of a command's output that hold anything,
// without their trailing blanks and carriage returns.
func Lines(out []byte) []string {
	var res []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimRight(l, " \r\t")
		if strings.TrimSpace(l) != "" {
			res = append(res, l)
		}
	}
	return res
}

// Digits reports whether s is a non-empty run of ASCII digits: the form of
// a scheduler's job number.
func Digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Shorten cuts s to the length an error message may quote.
func Shorten(s string) string {
	const max = 120
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
