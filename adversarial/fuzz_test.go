package adversarial

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseList feeds ParseList arbitrary answers: every item it returns
// is non-empty, trimmed and a single line.
func FuzzParseList(f *testing.F) {
	f.Add("Here are 2 descriptions:\n\n1) a red moon\n2) \"a moon on water\"\n\nI hope these help!")
	f.Add("**1.** a red moon\n- a green moon\n```\n")
	f.Add("a moon\r\n\r\nSure!\n")
	f.Add("1.\n2. **\n3. \"\"")
	f.Fuzz(func(t *testing.T, answer string) {
		for _, item := range ParseList(answer) {
			if item == "" || strings.TrimSpace(item) != item || strings.ContainsAny(item, "\n\r") {
				t.Fatalf("item %q", item)
			}
		}
	})
}

// FuzzOpenFolder feeds OpenFolder an arbitrary index.csv next to one
// image: it returns a generator or an error, never panics, and what it
// lists stays inside the folder.
func FuzzOpenFolder(f *testing.F) {
	f.Add("description,file\n\"a moon, in the sky\",0.png\na red moon,0.png\n")
	f.Add("\ufeffdescription,file\na moon,../0.png\n")
	f.Add("description,file\na moon\n")
	f.Add("description,file\n\"unterminated,0.png\n")
	f.Add("file,description\n0.png,a moon\n")
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, index string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "0.png"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "index.csv"), []byte(index), 0o644); err != nil {
			t.Fatal(err)
		}
		g, err := OpenFolder(dir)
		if err != nil {
			return
		}
		for desc, files := range g.index {
			for _, file := range files {
				if !filepath.IsLocal(filepath.FromSlash(file)) {
					t.Fatalf("%q lists %q outside the folder", desc, file)
				}
			}
			if _, err := g.Generate(t.Context(), desc, 2, 0); err != nil && !strings.Contains(err.Error(), "adversarial:") {
				t.Fatalf("error without the package's prefix: %v", err)
			}
		}
	})
}
