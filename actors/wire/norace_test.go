//go:build !race

package wire

// raceEnabled reports a -race build. protoactor-go's Remote.Start replaces
// gRPC's process-wide logger while other endpoints' servers read it, a race
// inside those libraries that shows only when one process starts several
// endpoints, as the multi-node tests here do (troupe runs one per process).
// Those tests skip under -race; the code of this package is covered by the
// others.
const raceEnabled = false
