//go:build race

package optim

// raceEnabled reports a build with the race detector, whose sync.Pool drops
// items at random, so allocation counts are not meaningful there.
const raceEnabled = true
