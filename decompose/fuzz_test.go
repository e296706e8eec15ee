package decompose

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadJSON feeds ReadJSON arbitrary bytes: it returns one term list
// per neuron 0..N−1, or an error; it never panics.
func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(`{"0": [[3, 0.5, "a cat"], [1, -0.25, "a dog"]], "1": []}`))
	f.Add([]byte(`{"0": [[3, 0.5]]}`))
	f.Add([]byte(`{"1": [], "01": []}`))
	f.Add([]byte(`{"0": [["x", 1e999, 7]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		terms, err := ReadJSON(bytes.NewReader(b))
		if err != nil {
			return
		}
		for n, ts := range terms {
			if ts == nil {
				t.Fatalf("neuron %d has no term list", n)
			}
		}
	})
}

// FuzzReadPool feeds ReadPool arbitrary text: it returns at least one
// text, none empty or ending in white space, or an error.
func FuzzReadPool(f *testing.F) {
	f.Add("a photo of a cat\n\nred \r\n")
	f.Add("\n \t\n")
	f.Add(strings.Repeat("x", 1<<17) + "\nshort")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ReadPool(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(p.Texts) == 0 {
			t.Fatal("no texts and no error")
		}
		for _, x := range p.Texts {
			if x == "" || strings.TrimRight(x, " \t\r\n\v\f") != x {
				t.Fatalf("text %q", x)
			}
		}
	})
}
