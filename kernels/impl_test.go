package kernels

import "testing"

func TestParseImpl(t *testing.T) {
	for _, want := range []Impl{ImplAuto, ImplAVX512, ImplAVX2, ImplGeneric} {
		got, err := ParseImpl(want.String())
		if err != nil || got != want {
			t.Errorf("ParseImpl(%q) = %v, %v; want %v", want.String(), got, err, want)
		}
	}
	if got, err := ParseImpl("AVX512"); err != nil || got != ImplAVX512 {
		t.Errorf("ParseImpl(%q) = %v, %v; want %v (case-insensitive)", "AVX512", got, err, ImplAVX512)
	}
	for _, bad := range []string{"", "sse", "avx-512", "auto "} {
		if got, err := ParseImpl(bad); err == nil {
			t.Errorf("ParseImpl(%q) = %v, nil; want an error", bad, got)
		}
	}
	if got := Impl(42).String(); got != "Impl(42)" {
		t.Errorf("Impl(42).String() = %q, want %q", got, "Impl(42)")
	}
}

func TestAvailableAndResolve(t *testing.T) {
	if !Available(ImplAuto) || !Available(ImplGeneric) {
		t.Error("ImplAuto and ImplGeneric must always be available")
	}
	if Available(Impl(-1)) || Available(Impl(42)) {
		t.Error("Available reports an unknown Impl as available")
	}
	best := ImplAuto.Resolve()
	if best == ImplAuto || !Available(best) {
		t.Errorf("ImplAuto.Resolve() = %v, want an available concrete Impl", best)
	}
	// The best is the first available in Impls' order, fastest first.
	for _, i := range Impls() {
		if Available(i) {
			if best != i {
				t.Errorf("ImplAuto.Resolve() = %v, want %v, the fastest available", best, i)
			}
			break
		}
	}
	if got := ImplAVX2.Resolve(); got != ImplAVX2 {
		t.Errorf("ImplAVX2.Resolve() = %v, want itself", got)
	}
}

// FuzzParseImpl checks that ParseImpl accepts exactly the names String
// writes, in any case, and that what it accepts round-trips.
func FuzzParseImpl(f *testing.F) {
	for _, s := range []string{"auto", "avx512", "AVX2", "generic", "", "x86", "avx512\\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, err := ParseImpl(s)
		if err != nil {
			return
		}
		if i < ImplAuto || i > ImplGeneric {
			t.Fatalf("ParseImpl(%q) = %v, outside the enum", s, i)
		}
		if back, err := ParseImpl(i.String()); err != nil || back != i {
			t.Fatalf("ParseImpl(%q) = %v, which does not round-trip: %v, %v", s, i, back, err)
		}
	})
}
