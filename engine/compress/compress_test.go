package compress

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for s, want := range map[string]Mode{"": {}, "none": {}, "fp16": {Kind: FP16}, "bf16": {Kind: BF16},
		"int8": {Kind: Int8}, "topk:0.01": {Kind: TopK, Fraction: 0.01}, " topk:1 ": {Kind: TopK, Fraction: 1}} {
		got, err := Parse(s)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, want)
		}
		if back, err := Parse(got.String()); err != nil || back != got {
			t.Errorf("Parse(%q.String()) = %v, %v", s, back, err)
		}
	}
	for _, s := range []string{"int4", "topk", "topk:0", "topk:-1", "topk:1.5", "topk:x", "topk:NaN", "FP16"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

// nearest reports whether h is a nearest representable value to v among
// its neighbours, with ties going to the even one.
func nearestOK(v float32, h uint16, widen func(uint16) float32) bool {
	d := math.Abs(float64(widen(h)) - float64(v))
	for _, n := range []uint16{h - 1, h + 1} {
		w := widen(n)
		if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) || (n^h)&0x8000 != 0 {
			continue
		}
		dn := math.Abs(float64(w) - float64(v))
		if dn < d || (dn == d && h&1 == 1) {
			return false
		}
	}
	return true
}

func TestHalfConversions(t *testing.T) {
	// Every half and bfloat16 value survives a round trip through float32.
	for h := range 1 << 16 {
		u := uint16(h)
		if f := FromFP16(u); !math.IsNaN(float64(f)) && ToFP16(f) != u {
			t.Fatalf("fp16 %#04x → %v → %#04x", u, f, ToFP16(f))
		}
		if f := FromBF16(u); !math.IsNaN(float64(f)) && ToBF16(f) != u {
			t.Fatalf("bf16 %#04x → %v → %#04x", u, f, ToBF16(f))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		v := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-25)))
		if h := ToBF16(v); !nearestOK(v, h, FromBF16) {
			t.Fatalf("ToBF16(%v) = %#04x (%v) is not the nearest", v, h, FromBF16(h))
		}
		if math.Abs(float64(v)) <= 65504 {
			if h := ToFP16(v); !nearestOK(v, h, FromFP16) {
				t.Fatalf("ToFP16(%v) = %#04x (%v) is not the nearest", v, h, FromFP16(h))
			}
		}
	}
	if got := FromFP16(ToFP16(1e6)); got != 65504 {
		t.Errorf("fp16 of 1e6 = %v, want saturation at 65504", got)
	}
	if got := FromFP16(ToFP16(float32(math.Inf(-1)))); !math.IsInf(float64(got), -1) {
		t.Errorf("fp16 of -Inf = %v", got)
	}
	if got := FromBF16(ToBF16(float32(math.NaN()))); !math.IsNaN(float64(got)) {
		t.Errorf("bf16 of NaN = %v", got)
	}
}

func randGrad(rng *rand.Rand, n int) []float32 {
	g := make([]float32, n)
	for i := range g {
		g[i] = float32(rng.NormFloat64() * 1e-2)
	}
	return g
}

func TestInt8UnbiasedAndBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 1000
	g := randGrad(rng, n)
	g[5] = 0.5 // a chunk with a large entry
	e, err := NewEncoder(Mode{Kind: Int8}, n, 9)
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	sum := make([]float64, n)
	out := make([]float32, n)
	const trials = 4000
	for range trials {
		if err := e.Encode(g, &p); err != nil {
			t.Fatal(err)
		}
		if err := Decode(&p, out); err != nil {
			t.Fatal(err)
		}
		for i, v := range out {
			scale := p.Scales[i/ChunkSize]
			if math.Abs(float64(v-g[i])) > float64(scale)*1.0001 {
				t.Fatalf("value %d decoded %v from %v, more than one step %v away", i, v, g[i], scale)
			}
			sum[i] += float64(v)
		}
	}
	// The mean of the decodes converges to g: stochastic rounding has
	// variance at most scale²/4, so 5 standard errors bound the mean.
	for i := range n {
		scale := float64(p.Scales[i/ChunkSize])
		if d := math.Abs(sum[i]/trials - float64(g[i])); d > 5*scale/2/math.Sqrt(trials)+1e-9 {
			t.Fatalf("value %d: mean decode %v, want %v (bias %v)", i, sum[i]/trials, g[i], d)
		}
	}
	if ratio := float64(4*n) / float64(p.WireBytes()); ratio < 3.5 {
		t.Errorf("int8 sends %d bytes for %d values: ratio %.2f < 3.5", p.WireBytes(), n, ratio)
	}
}

func TestTopKErrorFeedback(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 10000
	e, err := NewEncoder(Mode{Kind: TopK, Fraction: 0.01}, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	out := make([]float32, n)
	total := make([]float64, n) // all gradients so far
	sent := make([]float64, n)  // all decoded packets so far
	for step := range 20 {
		g := randGrad(rng, n)
		if err := e.Encode(g, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Indices) != 100 {
			t.Fatalf("step %d: sent %d entries, want 100", step, len(p.Indices))
		}
		// The entries sent are the largest of gradient + residual.
		minSent := math.Inf(1)
		for _, v := range p.Values {
			minSent = math.Min(minSent, math.Abs(float64(v)))
		}
		for i, r := range e.Residual() {
			if math.Abs(float64(r)) > minSent {
				t.Fatalf("step %d: kept %v at %d, larger than a sent %v", step, r, i, minSent)
			}
		}
		if err := Decode(&p, out); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			total[i] += float64(g[i])
			sent[i] += float64(out[i])
		}
	}
	// Nothing is lost: sent + residual = everything.
	for i, r := range e.Residual() {
		if d := math.Abs(sent[i] + float64(r) - total[i]); d > 1e-5 {
			t.Fatalf("entry %d: sent %v + residual %v != total %v", i, sent[i], r, total[i])
		}
	}
	if ratio := float64(4*n) / float64(p.WireBytes()); ratio < 30 {
		t.Errorf("topk:0.01 ratio %.1f < 30", ratio)
	}
}

func TestTopKTies(t *testing.T) {
	e, err := NewEncoder(Mode{Kind: TopK, Fraction: 0.5}, 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	if err := e.Encode([]float32{1, -1, 1, 1, 0.5, 2}, &p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Indices, []uint32{0, 1, 5}) {
		t.Errorf("indices %v, want [0 1 5] (2, then ties by index)", p.Indices)
	}
}

func TestKthLargest(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 500 {
		n := 1 + rng.IntN(60)
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.IntN(10)) // many duplicates
		}
		k := 1 + rng.IntN(n)
		sorted := slices.Clone(v)
		slices.Sort(sorted)
		if got, want := kthLargest(slices.Clone(v), k), sorted[n-k]; got != want {
			t.Fatalf("kthLargest(%v, %d) = %v, want %v", v, k, got, want)
		}
	}
}

func TestRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	n := 777
	g := randGrad(rng, n)
	for _, m := range []Mode{{Kind: None}, {Kind: FP16}, {Kind: BF16}} {
		e, err := NewEncoder(m, n, 1)
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		if err := e.Encode(g, &p); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, n)
		if err := Decode(&p, out); err != nil {
			t.Fatal(err)
		}
		tol := map[Kind]float64{None: 0, FP16: 1.0 / 1024, BF16: 1.0 / 128}[m.Kind]
		for i := range g {
			if math.Abs(float64(out[i]-g[i])) > tol*math.Abs(float64(g[i]))+1e-7 {
				t.Fatalf("%v: value %d decoded %v from %v", m, i, out[i], g[i])
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := func() *Packet {
		return &Packet{Kind: TopK, N: 4, Indices: []uint32{0, 2}, Values: []float32{1, 2}}
	}
	cases := map[string]*Packet{
		"wrong size":     {Kind: None, N: 3, Raw: []float32{1, 2, 3}},
		"short raw":      {Kind: None, N: 4, Raw: []float32{1}},
		"extra field":    {Kind: FP16, N: 4, Half: []uint16{1, 2, 3, 4}, Raw: []float32{1}},
		"index range":    {Kind: TopK, N: 4, Indices: []uint32{4}, Values: []float32{1}},
		"index order":    {Kind: TopK, N: 4, Indices: []uint32{2, 1}, Values: []float32{1, 1}},
		"index repeated": {Kind: TopK, N: 4, Indices: []uint32{1, 1}, Values: []float32{1, 1}},
		"values count":   {Kind: TopK, N: 4, Indices: []uint32{1}, Values: []float32{1, 2}},
		"nan scale":      {Kind: Int8, N: 4, Codes: []int8{1, 2, 3, 4}, Scales: []float32{float32(math.NaN())}},
		"negative scale": {Kind: Int8, N: 4, Codes: []int8{1, 2, 3, 4}, Scales: []float32{-1}},
		"missing scale":  {Kind: Int8, N: 4, Codes: []int8{1, 2, 3, 4}},
		"unknown kind":   {Kind: 9, N: 4},
	}
	for name, p := range cases {
		out := []float32{7, 7, 7, 7}
		err := Decode(p, out)
		if !errors.Is(err, errPacket) {
			t.Errorf("%s: Decode = %v, want a bad-packet error", name, err)
		}
		if !slices.Equal(out, []float32{7, 7, 7, 7}) {
			t.Errorf("%s: out changed to %v on error", name, out)
		}
	}
	out := make([]float32, 4)
	if err := Decode(good(), out); err != nil || !slices.Equal(out, []float32{1, 0, 2, 0}) {
		t.Errorf("good packet: %v, %v", out, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uint8(4), 4, []byte{0, 0, 1, 0, 2, 0, 3, 0})
	f.Add(uint8(3), 3, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, kind uint8, n int, b []byte) {
		if n < 0 || n > 1<<12 {
			return
		}
		// Build every field from the bytes: lengths and values arbitrary.
		p := &Packet{Kind: Kind(kind % 6), N: n}
		for i := 0; i+1 < len(b); i += 2 {
			v := uint16(b[i]) | uint16(b[i+1])<<8
			switch b[i] % 6 {
			case 0:
				p.Raw = append(p.Raw, float32(v))
			case 1:
				p.Half = append(p.Half, v)
			case 2:
				p.Codes = append(p.Codes, int8(v))
			case 3:
				p.Scales = append(p.Scales, math.Float32frombits(uint32(v)<<16))
			case 4:
				p.Indices = append(p.Indices, uint32(v)%uint32(n+2))
			case 5:
				p.Values = append(p.Values, float32(v))
			}
		}
		out := make([]float32, n)
		if err := Decode(p, out); err != nil {
			return
		}
		if p.Kind == TopK {
			for j, i := range p.Indices {
				if out[i] != p.Values[j] {
					t.Fatalf("entry %d: %v, want %v", i, out[i], p.Values[j])
				}
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := 266610 // LeNet-300-100's parameters
	g := randGrad(rng, n)
	for _, m := range []Mode{{Kind: FP16}, {Kind: BF16}, {Kind: Int8}, {Kind: TopK, Fraction: 0.01}} {
		b.Run(m.String(), func(b *testing.B) {
			e, err := NewEncoder(m, n, 1)
			if err != nil {
				b.Fatal(err)
			}
			var p Packet
			b.SetBytes(int64(4 * n))
			for b.Loop() {
				if err := e.Encode(g, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzParse: Parse never panics, and a mode it accepts spells itself back.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "none", "fp16", "bf16", "int8", "topk:0.01", "topk:1", "topk:0", "topk:nan", "topk:1e-300", " int8 ", "topk:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		back, err := Parse(m.String())
		if err != nil || back != m {
			t.Fatalf("Parse(%q) = %v, which parses back as %v (%v)", s, m, back, err)
		}
	})
}
