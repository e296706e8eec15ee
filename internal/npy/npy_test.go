package npy

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		data  any
	}{
		{"float32 matrix", []int{2, 3}, []float32{1, 2, 3, 4, 5, -6.5}},
		{"float64 vector", []int{2}, []float64{1e300, -2}},
		{"int64 scalar", nil, []int64{42}},
		{"int32 empty", []int{0, 4}, []int32{}},
		{"uint8 cube", []int{2, 1, 2}, []uint8{0, 255, 7, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.npy")
			require.NoError(t, WriteFile(path, tt.shape, tt.data))
			a, err := ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, len(tt.shape), len(a.Shape))
			assert.Equal(t, tt.data, a.Data)
		})
	}
}

func TestHeaderFromNumPy(t *testing.T) {
	// Bytes of numpy.save(f, numpy.arange(3, dtype='<f4').reshape(1, 3)), header padded as NumPy does.
	hdr := "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }"
	var buf bytes.Buffer
	buf.WriteString("\x93NUMPY\x01\x00")
	pad := 64 - (10+len(hdr)+1)%64
	h := hdr + string(bytes.Repeat([]byte(" "), pad)) + "\n"
	buf.Write([]byte{byte(len(h)), 0})
	buf.WriteString(h)
	buf.Write([]byte{0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40})
	a, err := Read(&buf)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 3}, a.Shape)
	assert.Equal(t, []float32{0, 1, 2}, a.Data)
}

func TestErrors(t *testing.T) {
	for name, b := range map[string]string{
		"empty":     "",
		"magic":     "\x93NUMPX\x01\x00\x10\x00",
		"version":   "\x93NUMPY\x09\x00\x10\x00",
		"huge":      "\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999), }",
		"truncated": "\x93NUMPY\x01\x00\x3c\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n\x00\x00",
		"dtype":     "\x93NUMPY\x01\x00\x3c\x00{'descr': '>c8', 'fortran_order': False, 'shape': (4,), }\n",
	} {
		_, err := Read(bytes.NewReader([]byte(b)))
		assert.ErrorIs(t, err, ErrFormat, name)
	}
}

// TestLargeHeaderShortData checks that a header stating gigabytes over a
// few bytes of data fails without allocating them, from a stream and from a
// file (where the file's size is checked first). Each case would need 16
// GiB or more if the header were trusted.
func TestLargeHeaderShortData(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, []int{2}, []float64{1, 2}))
	// Same header length: the shape takes ten of the padding spaces.
	b := bytes.Replace(buf.Bytes(), []byte("(2, ), }          "), []byte("(2147483647, 2), }"), 1)
	require.NotEqual(t, buf.Bytes(), b)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Read(bytes.NewReader(b))
	assert.ErrorIs(t, err, ErrFormat)
	path := filepath.Join(t.TempDir(), "big.npy")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	_, err = ReadFile(path)
	assert.ErrorIs(t, err, ErrFormat)
	assert.ErrorContains(t, err, "big.npy")
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated")
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	require.NoError(f, Write(&buf, []int{2, 2}, []float32{1, 2, 3, 4}))
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b))
		if err == nil && a.Len() != lenOf(a.Data) {
			t.Fatalf("shape %v but %d elements", a.Shape, lenOf(a.Data))
		}
		// readFloat32, with the size known or not, agrees with read on
		// float32 arrays and fails on everything else.
		dst := []float32{7, 7, 7}
		for _, size := range []int64{int64(len(b)), -1} {
			x, shape, err32 := readFloat32(bytes.NewReader(b), size, dst)
			f32, isF32 := []float32(nil), false
			if err == nil {
				f32, isF32 = a.Data.([]float32)
			}
			if !isF32 {
				if err32 == nil {
					t.Fatalf("size %d: readFloat32 read what Read did not (%v)", size, err)
				}
				continue
			}
			if err32 != nil {
				t.Fatalf("size %d: readFloat32: %v", size, err32)
			}
			if !slices.Equal(shape, a.Shape) || !slices.Equal(bitsOf(x), bitsOf(f32)) {
				t.Fatalf("size %d: readFloat32 gives %v %v, Read %v %v", size, shape, x, a.Shape, f32)
			}
		}
	})
}

func bitsOf(x []float32) []uint32 {
	b := make([]uint32, len(x))
	for i, v := range x {
		b[i] = math.Float32bits(v)
	}
	return b
}

func TestReadFloat32File(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	want := []float32{1, -2, 3.5, float32(math.Inf(1)), 5, 6}
	require.NoError(t, WriteFile(p, []int{2, 3}, want))

	big := make([]float32, 10)
	x, shape, err := ReadFloat32File(p, big)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3}, shape)
	assert.Equal(t, want, x)
	assert.Same(t, &big[0], &x[0], "dst's array is reused")

	x, _, err = ReadFloat32File(p, make([]float32, 2))
	require.NoError(t, err)
	assert.Equal(t, want, x, "a small dst is replaced")
	x, _, err = ReadFloat32File(p, nil)
	require.NoError(t, err)
	assert.Equal(t, want, x)

	q := filepath.Join(dir, "f8.npy")
	require.NoError(t, WriteFile(q, []int{2}, []float64{1, 2}))
	_, _, err = ReadFloat32File(q, nil)
	require.ErrorIs(t, err, ErrFormat)
	assert.ErrorContains(t, err, "f8.npy")

	b, err := os.ReadFile(p)
	require.NoError(t, err)
	r := filepath.Join(dir, "short.npy")
	require.NoError(t, os.WriteFile(r, b[:len(b)-3], 0o644))
	_, _, err = ReadFloat32File(r, big)
	require.ErrorIs(t, err, ErrFormat)
	assert.ErrorContains(t, err, "short.npy")

	_, _, err = ReadFloat32File(filepath.Join(dir, "missing.npy"), nil)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func lenOf(d any) int {
	switch d := d.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []int64:
		return len(d)
	case []int32:
		return len(d)
	case []uint8:
		return len(d)
	}
	return -1
}

// BenchmarkReadFileRecord reads a 150,000-float32 array (about 600 kB, a
// lens cache record's size for ViT-B/32 layer 9) from a file.
func BenchmarkReadFileRecord(b *testing.B) {
	x := make([]float32, 150000)
	for i := range x {
		x[i] = float32(i)
	}
	p := filepath.Join(b.TempDir(), "r.npy")
	require.NoError(b, WriteFile(p, []int{len(x)}, x))
	b.Run("ReadFile", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			if _, err := ReadFile(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadFloat32File", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		dst := make([]float32, len(x))
		for b.Loop() {
			if _, _, err := ReadFloat32File(p, dst); err != nil {
				b.Fatal(err)
			}
		}
	})
}
