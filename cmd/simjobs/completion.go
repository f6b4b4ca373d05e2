package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Shell completion scripts, generated from the command table so that they
// never fall behind the flags. Job IDs complete from the server
// (simjobs jobs --ids).

func completionCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) != 1 || after != nil {
			return usagef("completion takes one shell: bash, zsh or fish")
		}
		specs := completionSpecs()
		switch args[0] {
		case "bash":
			writeBash(cx.stdout, specs)
		case "zsh":
			writeZsh(cx.stdout, specs)
		case "fish":
			writeFish(cx.stdout, specs)
		default:
			return usagef("completion: unknown shell %q (bash, zsh or fish)", args[0])
		}
		return nil
	}
}

// What a command's positional arguments are.
const (
	argNone  = ""
	argFiles = "files"
	argDirs  = "dirs"
	argIDs   = "ids"
	argShell = "shells"
)

type flagSpec struct {
	name, usage string
	value       bool // takes a value
	path        bool // the value is a path
}

type commandSpec struct {
	name, summary, args string
	flags               []flagSpec
}

// isPathFlag reports whether a flag's value is a file or folder.
func isPathFlag(name string) bool {
	switch name {
	case "project", "ansys-edt-path", "local-dir", "workdir", "out", "zip":
		return true
	}
	return false
}

func completionSpecs() []commandSpec {
	argKinds := map[string]string{"sweep": argFiles, "submit": argFiles, "batch": argDirs, "status": argIDs, "cancel": argIDs, "priority": argIDs, "wait": argIDs, "completion": argShell, "results": argIDs, "upload": argFiles}
	specs := []commandSpec{
		{name: "serve", summary: "run the server (simjobs serve -h lists its flags)"},
		{name: "version", summary: "print the version"},
		{name: "help", summary: "list the commands and exit codes"},
	}
	for _, c := range clientCommands() {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		fs.String("server", "", "server `URL`")
		fs.String("token", "", "bearer `token`")
		c.setup(fs)
		s := commandSpec{name: c.name, summary: c.summary, args: argKinds[c.name]}
		fs.VisitAll(func(f *flag.Flag) {
			_, usage := flag.UnquoteUsage(f)
			b, isBool := f.Value.(interface{ IsBoolFlag() bool })
			s.flags = append(s.flags, flagSpec{name: f.Name, usage: usage, value: !(isBool && b.IsBoolFlag()), path: isPathFlag(f.Name)})
		})
		sort.Slice(s.flags, func(i, j int) bool { return s.flags[i].name < s.flags[j].name })
		specs = append(specs, s)
	}
	return specs
}

func commandNames(specs []commandSpec) string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.name
	}
	return strings.Join(names, " ")
}

func writeBash(w io.Writer, specs []commandSpec) {
	fmt.Fprintf(w, `# bash completion for simjobs
# Load it now:      source <(simjobs completion bash)
# Or for good:      simjobs completion bash > /etc/bash_completion.d/simjobs
_simjobs() {
    local cur prev cmd
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=( $(compgen -W %q -- "$cur") )
        return
    fi
    cmd="${COMP_WORDS[1]}"
    case "$cmd" in
`, commandNames(specs))
	for _, s := range specs {
		if len(s.flags) == 0 && s.args == argNone {
			continue
		}
		var all, paths, values []string
		for _, f := range s.flags {
			all = append(all, "--"+f.name)
			switch {
			case f.path:
				paths = append(paths, "--"+f.name)
			case f.value:
				values = append(values, "--"+f.name)
			}
		}
		fmt.Fprintf(w, "    %s)\n        case \"$prev\" in\n", s.name)
		if len(paths) > 0 {
			fmt.Fprintf(w, "        %s) COMPREPLY=( $(compgen -f -- \"$cur\") ); return ;;\n", strings.Join(paths, "|"))
		}
		if len(values) > 0 {
			fmt.Fprintf(w, "        %s) return ;;\n", strings.Join(values, "|"))
		}
		fmt.Fprintf(w, "        esac\n        if [[ \"$cur\" == -* ]]; then COMPREPLY=( $(compgen -W %q -- \"$cur\") ); return; fi\n", strings.Join(all, " "))
		switch s.args {
		case argFiles:
			fmt.Fprintln(w, `        COMPREPLY=( $(compgen -f -- "$cur") ) ;;`)
		case argDirs:
			fmt.Fprintln(w, `        COMPREPLY=( $(compgen -d -- "$cur") ) ;;`)
		case argIDs:
			fmt.Fprintln(w, `        COMPREPLY=( $(compgen -W "$(simjobs jobs --ids --limit 200 2>/dev/null)" -- "$cur") ) ;;`)
		case argShell:
			fmt.Fprintln(w, `        COMPREPLY=( $(compgen -W "bash zsh fish" -- "$cur") ) ;;`)
		default:
			fmt.Fprintln(w, "        ;;")
		}
	}
	fmt.Fprint(w, `    esac
}
complete -o filenames -F _simjobs simjobs
`)
}

// zshQuote escapes text for an _arguments or _describe spec.
func zshQuote(s string) string {
	r := strings.NewReplacer(`'`, `'\''`, `[`, `\[`, `]`, `\]`, `:`, `\:`)
	return r.Replace(s)
}

func writeZsh(w io.Writer, specs []commandSpec) {
	fmt.Fprint(w, `#compdef simjobs
# zsh completion for simjobs
# Load it now:      source <(simjobs completion zsh)
# Or for good:      simjobs completion zsh > "${fpath[1]}/_simjobs"
_simjobs_ids() {
    local -a ids
    ids=(${(f)"$(simjobs jobs --ids --limit 200 2>/dev/null)"})
    compadd -a ids
}
_simjobs() {
    local -a commands
    commands=(
`)
	for _, s := range specs {
		fmt.Fprintf(w, "        '%s:%s'\n", s.name, zshQuote(s.summary))
	}
	fmt.Fprint(w, `    )
    if (( CURRENT == 2 )); then
        _describe -t commands 'simjobs command' commands
        return
    fi
    local cmd=$words[2]
    shift words
    (( CURRENT-- ))
    case $cmd in
`)
	for _, s := range specs {
		if len(s.flags) == 0 && s.args == argNone {
			continue
		}
		fmt.Fprintf(w, "    %s)\n        _arguments \\\n", s.name)
		for _, f := range s.flags {
			spec := fmt.Sprintf("--%s[%s]", f.name, zshQuote(f.usage))
			switch {
			case f.path:
				spec += ":path:_files"
			case f.value:
				spec += ":value: "
			}
			fmt.Fprintf(w, "            '%s' \\\n", spec)
		}
		switch s.args {
		case argFiles:
			fmt.Fprintln(w, "            '*:config file:_files'")
		case argDirs:
			fmt.Fprintln(w, "            '*:folder:_files -/'")
		case argIDs:
			fmt.Fprintln(w, "            '*:job ID:_simjobs_ids'")
		case argShell:
			fmt.Fprintln(w, "            '1:shell:(bash zsh fish)'")
		default:
			fmt.Fprintln(w, "            ''")
		}
		fmt.Fprintln(w, "        ;;")
	}
	fmt.Fprint(w, `    esac
}
if [ "$funcstack[1]" = "_simjobs" ]; then
    _simjobs "$@"
else
    compdef _simjobs simjobs
fi
`)
}

// fishQuote quotes text for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func writeFish(w io.Writer, specs []commandSpec) {
	fmt.Fprint(w, `# fish completion for simjobs
# Load it now:      simjobs completion fish | source
# Or for good:      simjobs completion fish > ~/.config/fish/completions/simjobs.fish
complete -c simjobs -f
`)
	for _, s := range specs {
		fmt.Fprintf(w, "complete -c simjobs -n __fish_use_subcommand -a %s -d %s\n", s.name, fishQuote(s.summary))
	}
	for _, s := range specs {
		cond := fishQuote("__fish_seen_subcommand_from " + s.name)
		for _, f := range s.flags {
			extra := ""
			switch {
			case f.path:
				extra = " -r -F"
			case f.value:
				extra = " -x"
			}
			fmt.Fprintf(w, "complete -c simjobs -n %s -l %s%s -d %s\n", cond, f.name, extra, fishQuote(f.usage))
		}
		switch s.args {
		case argFiles, argDirs:
			fmt.Fprintf(w, "complete -c simjobs -n %s -F\n", cond)
		case argIDs:
			fmt.Fprintf(w, "complete -c simjobs -n %s -a '(simjobs jobs --ids --limit 200 2>/dev/null)'\n", cond)
		case argShell:
			fmt.Fprintf(w, "complete -c simjobs -n %s -a 'bash zsh fish'\n", cond)
		}
	}
}
