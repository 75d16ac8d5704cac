//go:build race

package actors

// raceEnabled reports a -race build. Tests that start several protoactor
// remote endpoints in one process skip under it: protoactor-go's
// Remote.Start replaces gRPC's process-wide logger while other endpoints'
// servers read it, a race inside those libraries (see actors/wire). troupe
// runs one endpoint per process.
const raceEnabled = true
