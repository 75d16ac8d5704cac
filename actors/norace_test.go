//go:build !race

package actors

// raceEnabled: see race_test.go.
const raceEnabled = false
