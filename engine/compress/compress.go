package compress

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Kind is a compression scheme.
type Kind uint8

// The schemes, numbered as on the wire.
const (
	None Kind = iota
	FP16
	BF16
	Int8
	TopK
)

func (k Kind) String() string {
	switch k {
	case None:
		return "none"
	case FP16:
		return "fp16"
	case BF16:
		return "bf16"
	case Int8:
		return "int8"
	case TopK:
		return "topk"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Mode is a scheme with its parameter.
type Mode struct {
	Kind     Kind
	Fraction float64 // TopK: the fraction of entries sent, in (0, 1]
}

func (m Mode) String() string {
	if m.Kind == TopK {
		return "topk:" + strconv.FormatFloat(m.Fraction, 'g', -1, 64)
	}
	return m.Kind.String()
}

// Parse reads a mode: none, fp16, bf16, int8 or topk:F with 0 < F ≤ 1. The
// empty string is none.
func Parse(s string) (Mode, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "none":
		return Mode{Kind: None}, nil
	case "fp16":
		return Mode{Kind: FP16}, nil
	case "bf16":
		return Mode{Kind: BF16}, nil
	case "int8":
		return Mode{Kind: Int8}, nil
	}
	if f, ok := strings.CutPrefix(s, "topk:"); ok {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 0 && v <= 1) {
			return Mode{}, fmt.Errorf("compress: topk fraction %q: want a number in (0, 1]", f)
		}
		return Mode{Kind: TopK, Fraction: v}, nil
	}
	return Mode{}, fmt.Errorf("compress: unknown mode %q (want none, fp16, bf16, int8, topk:FRACTION)", s)
}

// ChunkSize is the number of values sharing one int8 scale.
const ChunkSize = 256

// Packet is one encoded tensor. Only the fields of its Kind are set.
type Packet struct {
	Kind    Kind
	N       int       // values in the original tensor
	Raw     []float32 // None
	Half    []uint16  // FP16, BF16
	Codes   []int8    // Int8
	Scales  []float32 // Int8: one per chunk
	Indices []uint32  // TopK, strictly increasing
	Values  []float32 // TopK
}

// WireBytes is the payload size of the packet's data fields.
func (p *Packet) WireBytes() int {
	return 4*len(p.Raw) + 2*len(p.Half) + len(p.Codes) + 4*len(p.Scales) + 4*len(p.Indices) + 4*len(p.Values)
}

// Encoder compresses successive gradients of one tensor of n values.
type Encoder struct {
	mode     Mode
	n        int
	residual []float32 // TopK error feedback
	acc      []float32 // TopK: gradient + residual
	mags     []float32 // TopK selection scratch
	rng      *rand.Rand
}

// NewEncoder returns an encoder for tensors of n values; seed drives the
// int8 stochastic rounding.
func NewEncoder(m Mode, n int, seed uint64) (*Encoder, error) {
	if n < 0 {
		return nil, fmt.Errorf("compress: negative tensor size %d", n)
	}
	if m.Kind > TopK || (m.Kind == TopK && !(m.Fraction > 0 && m.Fraction <= 1)) {
		return nil, fmt.Errorf("compress: invalid mode %v", m)
	}
	e := &Encoder{mode: m, n: n, rng: rand.New(rand.NewPCG(seed, 0x636f6d70))}
	if m.Kind == TopK {
		e.residual = make([]float32, n)
		e.acc = make([]float32, n)
		e.mags = make([]float32, n)
	}
	return e, nil
}

// Mode returns the encoder's mode.
func (e *Encoder) Mode() Mode { return e.mode }

// Residual is the top-k error feedback: what has not been sent yet.
func (e *Encoder) Residual() []float32 { return e.residual }

// Encode compresses g into p, reusing p's slices.
func (e *Encoder) Encode(g []float32, p *Packet) error {
	if len(g) != e.n {
		return fmt.Errorf("compress: Encode: %d values, the encoder is for %d", len(g), e.n)
	}
	*p = Packet{Kind: e.mode.Kind, N: e.n, Raw: p.Raw[:0], Half: p.Half[:0], Codes: p.Codes[:0],
		Scales: p.Scales[:0], Indices: p.Indices[:0], Values: p.Values[:0]}
	switch e.mode.Kind {
	case None:
		p.Raw = append(p.Raw, g...)
	case FP16:
		for _, v := range g {
			p.Half = append(p.Half, ToFP16(v))
		}
	case BF16:
		for _, v := range g {
			p.Half = append(p.Half, ToBF16(v))
		}
	case Int8:
		e.encodeInt8(g, p)
	case TopK:
		e.encodeTopK(g, p)
	}
	return nil
}

func (e *Encoder) encodeInt8(g []float32, p *Packet) {
	for start := 0; start < len(g); start += ChunkSize {
		chunk := g[start:min(start+ChunkSize, len(g))]
		var m float32
		for _, v := range chunk {
			m = max(m, float32(math.Abs(float64(v))))
		}
		scale := m / 127
		if !(scale > 0) || math.IsInf(float64(scale), 0) { // all zero, or not finite
			scale = 0
		}
		p.Scales = append(p.Scales, scale)
		for _, v := range chunk {
			var q int8
			if scale > 0 {
				// floor(x + u) with u ~ U[0,1) rounds to a neighbour with
				// probabilities that make the expectation exactly x.
				x := float64(v) / float64(scale)
				f := math.Floor(x + e.rng.Float64())
				q = int8(max(-127, min(127, f)))
			}
			p.Codes = append(p.Codes, q)
		}
	}
}

func (e *Encoder) encodeTopK(g []float32, p *Packet) {
	n := len(g)
	if n == 0 {
		return
	}
	k := min(n, max(1, int(math.Ceil(e.mode.Fraction*float64(n)))))
	for i, v := range g {
		a := v + e.residual[i]
		e.acc[i] = a
		e.mags[i] = float32(math.Abs(float64(a)))
	}
	t := kthLargest(e.mags, k)
	// Entries above the threshold all go; ties at it fill up to k, lowest
	// index first, so exactly k are sent.
	above := 0
	for i := range n {
		if float32(math.Abs(float64(e.acc[i]))) > t {
			above++
		}
	}
	ties := k - above
	for i := range n {
		a := e.acc[i]
		m := float32(math.Abs(float64(a)))
		send := m > t
		if !send && m == t && ties > 0 {
			send, ties = true, ties-1
		}
		if send {
			p.Indices = append(p.Indices, uint32(i))
			p.Values = append(p.Values, a)
			e.residual[i] = 0
		} else {
			e.residual[i] = a
		}
	}
}

// kthLargest returns the k-th largest value of v (1-based), reordering v.
func kthLargest(v []float32, k int) float32 {
	lo, hi, want := 0, len(v)-1, k-1
	for lo < hi {
		// Median of three as the pivot; partition descending.
		mid := lo + (hi-lo)/2
		a, b, c := v[lo], v[mid], v[hi]
		pivot := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for v[i] > pivot {
				i++
			}
			for v[j] < pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case want <= j:
			hi = j
		case want >= i:
			lo = i
		default:
			return v[want]
		}
	}
	return v[want]
}

// Decode checks p against a tensor of n values and writes the decoded
// values to out (len n); TopK packets set the listed entries and zero the
// rest. A malformed packet returns an error and leaves out unchanged.
func Decode(p *Packet, out []float32) error {
	if err := p.check(len(out)); err != nil {
		return err
	}
	switch p.Kind {
	case None:
		copy(out, p.Raw)
	case FP16:
		for i, h := range p.Half {
			out[i] = FromFP16(h)
		}
	case BF16:
		for i, h := range p.Half {
			out[i] = FromBF16(h)
		}
	case Int8:
		for i, q := range p.Codes {
			out[i] = float32(q) * p.Scales[i/ChunkSize]
		}
	case TopK:
		clear(out)
		for j, i := range p.Indices {
			out[i] = p.Values[j]
		}
	}
	return nil
}

// errPacket prefixes every validation failure.
var errPacket = errors.New("compress: bad packet")

func (p *Packet) check(n int) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w (%v, %d values): %s", errPacket, p.Kind, p.N, fmt.Sprintf(format, args...))
	}
	if p.N != n {
		return bad("the tensor has %d values", n)
	}
	others := func(used int) int {
		return len(p.Raw) + len(p.Half) + len(p.Codes) + len(p.Scales) + len(p.Indices) + len(p.Values) - used
	}
	switch p.Kind {
	case None:
		if len(p.Raw) != n || others(len(p.Raw)) != 0 {
			return bad("want %d raw values and no other fields", n)
		}
	case FP16, BF16:
		if len(p.Half) != n || others(len(p.Half)) != 0 {
			return bad("want %d half values and no other fields", n)
		}
	case Int8:
		chunks := (n + ChunkSize - 1) / ChunkSize
		if len(p.Codes) != n || len(p.Scales) != chunks || others(n+chunks) != 0 {
			return bad("want %d codes and %d scales", n, chunks)
		}
		for i, s := range p.Scales {
			if !(s >= 0) || math.IsInf(float64(s), 0) {
				return bad("scale %d is %v", i, s)
			}
		}
	case TopK:
		if len(p.Indices) != len(p.Values) || len(p.Indices) > n || others(2*len(p.Indices)) != 0 {
			return bad("%d indices and %d values", len(p.Indices), len(p.Values))
		}
		for j, i := range p.Indices {
			if int64(i) >= int64(n) || (j > 0 && i <= p.Indices[j-1]) {
				return bad("index %d (%d) out of range or not increasing", j, i)
			}
		}
	default:
		return bad("unknown kind")
	}
	return nil
}
