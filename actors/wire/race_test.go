//go:build race

package wire

// raceEnabled: see norace_test.go.
const raceEnabled = true
