package messages

// gen.sh asks `go tool` for the pinned protoc-gen-go, so only protoc itself
// comes from the system.
//go:generate sh gen.sh
