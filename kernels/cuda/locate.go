package cuda

import (
	"os"
	"path/filepath"
	"strings"
)

// EnvLibs names the environment variable with extra folders (separated by
// ':') to search first for the CUDA libraries.
const EnvLibs = "TROUPE_CUDA_LIBS"

// Library names, newest first. The driver's soname is stable; NVRTC and
// cuBLAS carry the toolkit's major version.
func driverNames() []string { return []string{"libcuda.so.1", "libcuda.so"} }

func nvrtcNames() []string {
	return []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"}
}

func cublasNames() []string {
	return []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}
}

// standardDirs are where toolkits and drivers usually install their
// libraries, searched after the loader's own path.
func standardDirs() []string {
	dirs := []string{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/nvidia/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/lib64"}
	for _, env := range []string{"CUDA_HOME", "CUDA_PATH"} {
		if v := os.Getenv(env); v != "" {
			dirs = append([]string{filepath.Join(v, "lib64"), filepath.Join(v, "lib")}, dirs...)
		}
	}
	return dirs
}

// candidates lists the paths to try for a library: each name in the
// caller's folders and those of EnvLibs, then the bare name (resolved by
// the dynamic loader: LD_LIBRARY_PATH, its cache), then standard folders.
func candidates(names, dirs []string) []string {
	var extra []string
	extra = append(extra, dirs...)
	if v := os.Getenv(EnvLibs); v != "" {
		extra = append(extra, strings.Split(v, ":")...)
	}
	var out []string
	for _, n := range names {
		for _, d := range extra {
			if d != "" {
				out = append(out, filepath.Join(d, n))
			}
		}
	}
	out = append(out, names...)
	for _, n := range names {
		for _, d := range standardDirs() {
			out = append(out, filepath.Join(d, n))
		}
	}
	return out
}
