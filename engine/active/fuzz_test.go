package active

import "testing"

// ParseStrategy accepts exactly the names it lists and their aliases, and
// names the bad input otherwise.
func FuzzParseStrategy(f *testing.F) {
	for _, s := range []string{"random", "bald", " Var-Ratios ", "max-entropy", "", "coreset,", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseStrategy(s)
		if err != nil {
			if got != "" {
				t.Fatalf("ParseStrategy(%q) = %q with error %v", s, got, err)
			}
			return
		}
		again, err := ParseStrategy(string(got))
		if err != nil || again != got {
			t.Fatalf("ParseStrategy(%q) = %q, which parses to %q, %v", s, got, again, err)
		}
	})
}
