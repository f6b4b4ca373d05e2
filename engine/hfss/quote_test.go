package hfss

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWindowsCommandLine(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{"plain words", []string{"ansysedt.exe", "-ng", "-monitor"}, `ansysedt.exe -ng -monitor`},
		{"path with spaces", []string{`C:\Program Files\ANSYS Inc\v252\AnsysEM\ansysedt.exe`},
			`"C:\Program Files\ANSYS Inc\v252\AnsysEM\ansysedt.exe"`},
		{"backslashes alone stay as they are", []string{`C:\sims\pass#1\pdn_design_001.aedb`},
			`C:\sims\pass#1\pdn_design_001.aedb`},
		{"trailing backslash without spaces", []string{`C:\sims\`}, `C:\sims\`},
		{"trailing backslash with spaces is doubled before the closing quote", []string{`C:\my sims\`},
			`"C:\my sims\\"`},
		{"two trailing backslashes with spaces", []string{`C:\my sims\\`}, `"C:\my sims\\\\"`},
		{"double quote", []string{`a"b`}, `a\"b`},
		{"double quote with spaces", []string{`say "hi"`}, `"say \"hi\""`},
		{"backslashes before a quote are doubled", []string{`a\\"b`}, `a\\\\\"b`},
		{"backslash then quote with spaces", []string{`x \"y`}, `"x \\\"y"`},
		{"single quotes are not special", []string{`it's`}, `it's`},
		{"empty argument", []string{"a", "", "b"}, `a "" b`},
		{"tab", []string{"a\tb"}, "\"a\tb\""},
		{"unicode", []string{`C:\Users\Zoë\a.aedt`}, `C:\Users\Zoë\a.aedt`},
		{"cmd.exe syntax is not special to CreateProcess", []string{`$(x)&%PATH%|<>^`}, `$(x)&%PATH%|<>^`},
		{"shell syntax with spaces", []string{`$(rm -rf ~)`}, `"$(rm -rf ~)"`},
		{"machine list", []string{"-machinelist", "list=localhost:-1:20:90%"}, `-machinelist list=localhost:-1:20:90%`},
		{"batch options", []string{"-batchoptions", "'HFSS 3D Layout Design/EnableGPU'='0' 'HFSS/RAMLimitPercent'='90'"},
			`-batchoptions "'HFSS 3D Layout Design/EnableGPU'='0' 'HFSS/RAMLimitPercent'='90'"`},
		{"design string", []string{"-batchsolve", "::", `D:\a b\c.aedb`}, `-batchsolve :: "D:\a b\c.aedb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WindowsCommandLine(tt.argv)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("WindowsCommandLine(%q) mismatch (-want +got):\n%s", tt.argv, diff)
			}
			back := parseWindowsArgs("prog " + got)
			if diff := cmp.Diff(tt.argv, back[1:]); diff != "" {
				t.Errorf("MSVCRT parsing does not give the argv back (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPosixCommandLine(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{"plain words", []string{"/opt/AnsysEM/ansysedt", "-ng"}, `/opt/AnsysEM/ansysedt -ng`},
		{"shlex.quote's safe set stays bare", []string{"list=localhost:-1:20:90%,n2:4:8:50%", "a@b+c.d_e"},
			`list=localhost:-1:20:90%,n2:4:8:50% a@b+c.d_e`},
		{"spaces", []string{"/opt/Ansys EM/ansysedt"}, `'/opt/Ansys EM/ansysedt'`},
		{"single quote", []string{"o'brien"}, `'o'"'"'brien'`},
		{"double quote", []string{`say "hi"`}, `'say "hi"'`},
		{"command substitution", []string{"$(rm -rf ~)"}, `'$(rm -rf ~)'`},
		{"comment", []string{"#1"}, `'#1'`},
		{"glob and tilde", []string{"*", "~"}, `'*' '~'`},
		{"unicode is quoted like shlex does", []string{"résumé"}, `'résumé'`},
		{"empty", []string{"a", ""}, `a ''`},
		{"backslash", []string{`C:\sims\a.aedb`}, `'C:\sims\a.aedb'`},
		{"design string", []string{"::"}, `::`},
		{"batch options", []string{"'HFSS/RAMLimitPercent'='90'"}, `''"'"'HFSS/RAMLimitPercent'"'"'='"'"'90'"'"''`},
		{"newline", []string{"a\nb"}, "'a\nb'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PosixCommandLine(tt.argv)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PosixCommandLine(%q) mismatch (-want +got):\n%s", tt.argv, diff)
			}
			back, err := parsePosixWords(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.argv, back); diff != "" {
				t.Errorf("sh reading does not give the argv back (-want +got):\n%s", diff)
			}
		})
	}
}

// parseWindowsArgs splits a command line by the MSVCRT rules
// (CommandLineToArgvW for every argument but the first, and the UCRT
// since 2008): it is the reader WindowsCommandLine writes for. The first
// argument must be a plain word, as Windows parses it differently.
func parseWindowsArgs(cmd string) []string {
	var args []string
	var cur strings.Builder
	inArg, inQuote := false, false
	for i := 0; i < len(cmd); {
		c := cmd[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(cmd) && cmd[i] == '\\' {
				n++
				i++
			}
			if i < len(cmd) && cmd[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
					i++
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
			}
			inArg = true
		case c == '"':
			if inQuote && i+1 < len(cmd) && cmd[i+1] == '"' {
				cur.WriteByte('"') // "" inside quotes is a literal quote
				i += 2
			} else {
				inQuote = !inQuote
				i++
			}
			inArg = true
		case (c == ' ' || c == '\t') && !inQuote:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
			i++
		default:
			cur.WriteByte(c)
			inArg = true
			i++
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}

// parsePosixWords reads words as sh does for the subset PosixCommandLine
// writes: bare safe characters, '...' and "'" pieces, spaces between words.
func parsePosixWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, errors.New("unterminated quote in " + s)
			}
			piece := s[i+1 : i+1+j]
			if c == '"' && strings.ContainsAny(piece, "$`\\\"") {
				return nil, errors.New("double-quoted piece with specials in " + s)
			}
			cur.WriteString(piece)
			i += j + 2
			inWord = true
		case posixSafe(c):
			cur.WriteByte(c)
			i++
			inWord = true
		default:
			return nil, errors.New("bare special character in " + s)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
