package core

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Scripts in testdata/<machine>/*.txt drive one machine each, in the manner of
// etcd raft's interaction tests. A block is one command, a line "----", the
// expected output, and a blank line:
//
//	# comments and blank lines between blocks are ignored
//	grant c=c1 n=2 acked=0
//	----
//	Produce c1
//	Produce c1
//
// A command is a name and key=value arguments. Its output is the actions it
// returned, one per line, "ok" when there were none, or "error: <message>".
// Run `go test -run Script -update` to rewrite the expectations from what the
// code does (comments are kept; trailing ones after the last block are not),
// then read the diff: the files are the specification.

var update = flag.Bool("update", false, "rewrite testdata scripts with actual output")

type scriptCmd struct {
	line     int      // 1-based line of the command
	comments []string // comment lines just above it, kept by -update
	name     string
	args     []scriptArg
	want     string
}

type scriptArg struct{ key, val string }

// parseScript splits a script into commands. It rejects what it cannot read
// rather than guessing, and never panics (FuzzParseScript holds it to that).
func parseScript(text string) ([]scriptCmd, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var cmds []scriptCmd
	var comments []string
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "#") {
			comments = append(comments, l)
			continue
		}
		if l == "----" {
			return nil, fmt.Errorf("line %d: separator without a command", i+1)
		}
		c := scriptCmd{line: i + 1, comments: comments}
		comments = nil
		fields := strings.Fields(l)
		c.name = fields[0]
		if strings.Contains(c.name, "=") {
			return nil, fmt.Errorf("line %d: command name %q contains '='", i+1, c.name)
		}
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("line %d: argument %q, want key=value", i+1, f)
			}
			for _, a := range c.args {
				if a.key == k {
					return nil, fmt.Errorf("line %d: argument %q given twice", i+1, k)
				}
			}
			c.args = append(c.args, scriptArg{k, v})
		}
		i++
		if i >= len(lines) || strings.TrimSpace(lines[i]) != "----" {
			return nil, fmt.Errorf("line %d: command %q not followed by ----", c.line, c.name)
		}
		var want []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			want = append(want, strings.TrimSpace(lines[i]))
		}
		c.want = strings.Join(want, "\n")
		cmds = append(cmds, c)
	}
	return cmds, nil
}

func formatScript(cmds []scriptCmd, got []string) string {
	var b strings.Builder
	for i, c := range cmds {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, l := range c.comments {
			b.WriteString(l + "\n")
		}
		b.WriteString(c.name)
		for _, a := range c.args {
			fmt.Fprintf(&b, " %s=%s", a.key, a.val)
		}
		fmt.Fprintf(&b, "\n----\n%s\n", got[i])
	}
	return b.String()
}

// argError is how a handler reports a malformed command: a broken test
// script, not machine behaviour.
type argError struct{ msg string }

func (e argError) Error() string { return e.msg }

func (c scriptCmd) lookup(key string) (string, bool) {
	for _, a := range c.args {
		if a.key == key {
			return a.val, true
		}
	}
	return "", false
}

func (c scriptCmd) str(key string) string {
	v, ok := c.lookup(key)
	if !ok {
		panic(argError{fmt.Sprintf("command %s: missing argument %s", c.name, key)})
	}
	return v
}

func (c scriptCmd) strOr(key, def string) string {
	if v, ok := c.lookup(key); ok {
		return v
	}
	return def
}

func (c scriptCmd) int(key string) int {
	n, err := strconv.Atoi(c.str(key))
	if err != nil {
		panic(argError{fmt.Sprintf("command %s: argument %s: %v", c.name, key, err)})
	}
	return n
}

func (c scriptCmd) intOr(key string, def int) int {
	if _, ok := c.lookup(key); !ok {
		return def
	}
	return c.int(key)
}

func (c scriptCmd) float(key string) float64 {
	f, err := strconv.ParseFloat(c.str(key), 64)
	if err != nil {
		panic(argError{fmt.Sprintf("command %s: argument %s: %v", c.name, key, err)})
	}
	return f
}

func (c scriptCmd) list(key string) []string {
	v := c.strOr(key, "")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func (c scriptCmd) floats(key string) []float32 {
	var out []float32
	for _, s := range c.list(key) {
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			panic(argError{fmt.Sprintf("command %s: argument %s: %v", c.name, key, err)})
		}
		out = append(out, float32(f))
	}
	return out
}

func (c scriptCmd) workers(key string) []WorkerID {
	var out []WorkerID
	for _, s := range c.list(key) {
		out = append(out, WorkerID(s))
	}
	return out
}

// handler runs one command against the machine the script built and returns
// its output lines; it panics with argError on a malformed command.
type handler func(c scriptCmd) []string

// runScripts runs every script under testdata/dir. newHandler is called once
// per file, so each file starts from nothing.
func runScripts(t *testing.T, dir string, newHandler func() handler) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scripts in testdata/%s", dir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cmds, err := parseScript(string(raw))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			h := newHandler()
			got := make([]string, len(cmds))
			for i, c := range cmds {
				got[i] = runCmd(t, f, h, c)
				if !*update && got[i] != c.want {
					t.Errorf("%s:%d: %s\n got:\n%s\nwant:\n%s", f, c.line, c.name, indent(got[i]), indent(c.want))
				}
			}
			if *update {
				out := formatScript(cmds, got)
				if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func runCmd(t *testing.T, file string, h handler, c scriptCmd) (out string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(argError); ok {
				t.Fatalf("%s:%d: %v", file, c.line, e)
			}
			panic(r)
		}
	}()
	lines := h(c)
	if len(lines) == 0 {
		return "ok"
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// errLine renders a Step error for a script.
func errLine(err error) []string { return []string{"error: " + err.Error()} }

// actionLines renders actions (or an error) for a script.
func actionLines[A fmt.Stringer](acts []A, err error) []string {
	if err != nil {
		return errLine(err)
	}
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = a.String()
	}
	return out
}

func unknownCmd(c scriptCmd) []string {
	panic(argError{fmt.Sprintf("unknown command %q", c.name)})
}

func TestParseScript(t *testing.T) {
	good := "# header\n\ncmd a=1 b=x,y\n----\nline 1\n  line 2\n\nnext\n----\n\n"
	cmds, err := parseScript(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 {
		t.Fatalf("got %d commands, want 2", len(cmds))
	}
	if c := cmds[0]; c.line != 3 || c.name != "cmd" || c.str("a") != "1" || len(c.list("b")) != 2 || c.want != "line 1\nline 2" {
		t.Errorf("first command parsed as %+v", c)
	}
	if c := cmds[1]; c.name != "next" || c.want != "" || len(c.args) != 0 {
		t.Errorf("second command parsed as %+v", c)
	}
	for _, bad := range []string{
		"----\n",
		"cmd\nnot a separator\n",
		"cmd\n",
		"cmd a\n----\n",
		"cmd =1\n----\n",
		"cmd a=1 a=2\n----\n",
		"a=b\n----\n",
	} {
		if _, err := parseScript(bad); err == nil {
			t.Errorf("parseScript(%q) succeeded, want an error", bad)
		}
	}
	// Round trip: formatting parsed commands with their expectations gives
	// text that parses to the same commands.
	want := make([]string, len(cmds))
	for i, c := range cmds {
		want[i] = c.want
		if want[i] == "" {
			want[i] = "ok"
		}
	}
	again, err := parseScript(formatScript(cmds, want))
	if err != nil || len(again) != len(cmds) || again[0].want != cmds[0].want || again[1].want != "ok" ||
		len(again[0].comments) != 1 || again[0].comments[0] != "# header" {
		t.Errorf("round trip gave %+v, %v", again, err)
	}
}

func FuzzParseScript(f *testing.F) {
	f.Add("cmd a=1\n----\nok\n")
	f.Add("# c\nx\n----\n\ny k=v,w\n----\nA\nB\n")
	f.Add("----\n")
	f.Add("a b=\n----")
	f.Fuzz(func(t *testing.T, text string) {
		cmds, err := parseScript(text)
		if err != nil {
			return
		}
		got := make([]string, len(cmds))
		for i, c := range cmds {
			if c.name == "" || strings.ContainsAny(c.name, "= \t\n") {
				t.Fatalf("command name %q", c.name)
			}
			got[i] = "ok"
		}
		again, err := parseScript(formatScript(cmds, got))
		if err != nil {
			t.Fatalf("reparse of formatted script: %v", err)
		}
		if len(again) != len(cmds) {
			t.Fatalf("reparse gave %d commands, want %d", len(again), len(cmds))
		}
		for i := range cmds {
			if again[i].name != cmds[i].name || len(again[i].args) != len(cmds[i].args) || len(again[i].comments) != len(cmds[i].comments) {
				t.Fatalf("command %d: %+v became %+v", i, cmds[i], again[i])
			}
		}
	})
}

// isErr is a shorthand for tests that expect a class of error.
func isErr(err, target error) bool { return errors.Is(err, target) }
