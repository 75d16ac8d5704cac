//go:build race

package active

// raceEnabled marks a build with the race detector, which runs the
// training loops here ten times slower; tests cover fewer cases there.
const raceEnabled = true
