package hfss

import "strings"

// WindowsCommandLine returns the command line CreateProcess receives when Go's
// os/exec starts argv on Windows: each argument escaped as syscall.EscapeArg
// does (the inverse of the MSVCRT / CommandLineToArgvW parsing rules) and
// joined with spaces. It lives here, not behind a build tag, so the exact text
// a Windows host runs is testable on any host and can be shown to users.
//
// An argument is quoted only when it holds a space or a tab; a double quote
// becomes \" and the backslashes before it are doubled, as are backslashes
// before the closing quote. Nothing else is special: the -batchoptions value
// passes its single quotes through untouched, and ansysedt sees exactly the
// string PyEDB built.
func WindowsCommandLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		appendWindowsArg(&b, a)
	}
	return b.String()
}

func appendWindowsArg(b *strings.Builder, s string) {
	if s == "" {
		b.WriteString(`""`)
		return
	}
	quote := strings.ContainsAny(s, " \t")
	if !quote && !strings.ContainsAny(s, `"\`) {
		b.WriteString(s)
		return
	}
	if quote {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			// 2n+1 backslashes then a quote read back as n backslashes
			// and a literal quote.
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	if quote {
		// Backslashes right before the closing quote would escape it.
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
}

// PosixCommandLine returns argv as one line a POSIX shell reads back as the
// same argv: arguments made only of characters no shell treats specially are
// left bare, every other one is single-quoted, with a single quote written as
// '"'"'. This is Python's shlex.quote, so the text matches what PyEDB prints.
// Used for display and in batch scripts.
func PosixCommandLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(posixQuote(a))
	}
	return b.String()
}

func posixQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		if !posixSafe(s[i]) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// posixSafe is shlex.quote's set: letters, digits and @%+=:,./-_ (ASCII).
func posixSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("@%+=:,./-_", c) >= 0
}
