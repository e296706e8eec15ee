package pickle

import (
	"archive/zip"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const fixtures = "../../testdata/clip/formats"

// FuzzPickle checks that Decode returns a value or an error, never panics,
// and never reads past the input.
func FuzzPickle(f *testing.F) {
	for _, h := range []string{proto2, proto4} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Add([]byte("(lp0\nI1\naVx\\u1234\np1\na(I2\ntp2\na."))
	for _, name := range []string{"state_dict.pt", "torchscript.pt", "openclip_ckpt.pt"} {
		zr, err := zip.OpenReader(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range zr.File {
			if filepath.Base(e.Name) != "data.pkl" {
				continue
			}
			r, err := e.Open()
			if err != nil {
				f.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			f.Add(b[:len(b)/2])
			c := append([]byte(nil), b...)
			c[len(c)/3] ^= 0x40
			f.Add(c)
		}
		zr.Close()
	}
	if b, err := os.ReadFile(filepath.Join(fixtures, "state_dict_legacy.pt")); err == nil {
		f.Add(b[:7000])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := &Decoder{Persistent: func(pid any) (any, error) { return pid, nil }}
		for off := 0; off < len(b); {
			_, n, err := d.Decode(b[off:])
			if n < 0 || n > len(b)-off {
				t.Fatalf("read %d bytes of %d", n, len(b)-off)
			}
			if err != nil || n == 0 {
				return
			}
			off += n
		}
	})
}
