package checkpoint

import (
	"fmt"
	"hash/crc32"
	"maps"
)

// ChecksumKey is the metadata key under which Encode stores a CRC-32C
// (Castagnoli) of the data section, as "crc32c:" and eight hex digits.
// Decode verifies it when present and leaves it out of the metadata it
// returns; files from other writers have none and load unchecked.
const ChecksumKey = "troupe.checksum"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func formatChecksum(sum uint32) string { return fmt.Sprintf("crc32c:%08x", sum) }

// withChecksum returns meta with the checksum of tensors' data added; meta
// itself is not changed.
func withChecksum(tensors []Tensor, meta map[string]string) map[string]string {
	var sum uint32
	_ = encodeData(tensors, func(b []byte) error {
		sum = crc32.Update(sum, castagnoli, b)
		return nil
	})
	out := maps.Clone(meta)
	if out == nil {
		out = map[string]string{}
	}
	out[ChecksumKey] = formatChecksum(sum)
	return out
}

// verifyChecksum checks sum, the CRC-32C of the data section as read,
// against meta's, and returns meta without it (nil when nothing is left).
func verifyChecksum(meta map[string]string, sum uint32) (map[string]string, error) {
	want, ok := meta[ChecksumKey]
	if !ok {
		return meta, nil
	}
	if got := formatChecksum(sum); got != want {
		return nil, fmt.Errorf("checksum mismatch: the data hashes to %s, the header says %q (a corrupt or partial file)", got, want)
	}
	delete(meta, ChecksumKey)
	if len(meta) == 0 {
		meta = nil
	}
	return meta, nil
}
