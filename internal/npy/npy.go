// Package npy reads and writes NumPy .npy files (format versions 1.0 to 3.0),
// so that results saved by neuronlens open with numpy.load and goldens made by
// NumPy scripts open in Go tests.
//
// Supported element types are little-endian float32 (<f4), float64 (<f8),
// int64 (<i8), int32 (<i4), uint8 (|u1) and bool (|b1, read as uint8).
// C order only. Reading checks the header before allocating.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"
)

// ErrFormat is returned, wrapped, for anything that is not a supported .npy file.
var ErrFormat = errors.New("npy: bad format")

// maxElements bounds what a header may ask for before any allocation (16 GiB of float32).
const maxElements = 1 << 32

var magic = []byte("\x93NUMPY")

// Array is a decoded .npy array. Data is one of []float32, []float64, []int64,
// []int32 or []uint8, in C (row-major) order.
type Array struct {
	Shape []int
	Data  any
}

// Len is the number of elements the shape describes.
func (a *Array) Len() int { return numel(a.Shape) }

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// Float32 returns the data converted to float32 (a copy unless it already is).
func (a *Array) Float32() []float32 {
	switch d := a.Data.(type) {
	case []float32:
		return d
	case []float64:
		return convert[float64, float32](d)
	case []int64:
		return convert[int64, float32](d)
	case []int32:
		return convert[int32, float32](d)
	case []uint8:
		return convert[uint8, float32](d)
	}
	return nil
}

// Float64 returns the data converted to float64 (a copy unless it already is).
func (a *Array) Float64() []float64 {
	switch d := a.Data.(type) {
	case []float64:
		return d
	case []float32:
		return convert[float32, float64](d)
	case []int64:
		return convert[int64, float64](d)
	case []int32:
		return convert[int32, float64](d)
	case []uint8:
		return convert[uint8, float64](d)
	}
	return nil
}

// Int returns the data converted to int.
func (a *Array) Int() []int {
	switch d := a.Data.(type) {
	case []int64:
		return convert[int64, int](d)
	case []int32:
		return convert[int32, int](d)
	case []uint8:
		return convert[uint8, int](d)
	case []float32:
		return convert[float32, int](d)
	case []float64:
		return convert[float64, int](d)
	}
	return nil
}

func convert[S, D int | int32 | int64 | uint8 | float32 | float64](s []S) []D {
	d := make([]D, len(s))
	for i, v := range s {
		d[i] = D(v)
	}
	return d
}

// ReadFile reads the .npy file at path. Errors name the file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, err := read(bufio.NewReader(f), st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ReadFloat32File reads the float32 (<f4) array in the .npy file at path
// into dst's array when it holds enough values (else into a new one) and
// returns the values and the shape; other dtypes are an error. On a
// little-endian host the file's bytes go straight into the values. It is
// for reading many arrays of one size without allocating each. Errors
// name the file.
func ReadFloat32File(path string, dst []float32) ([]float32, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	x, shape, err := readFloat32(bufio.NewReader(f), st.Size(), dst)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, shape, nil
}

// readFloat32 is ReadFloat32File on r, which holds size bytes (−1:
// unknown).
func readFloat32(r io.Reader, size int64, dst []float32) ([]float32, []int, error) {
	descr, shape, n, err := header(r, size)
	if err != nil {
		return nil, nil, err
	}
	if descr != "<f4" {
		return nil, nil, fmt.Errorf("%w: dtype %q, want '<f4'", ErrFormat, descr)
	}
	if size < 0 {
		// An unknown length: grow with the data, as Read does.
		a, err := readData(r, size, descr, shape, n)
		if err != nil {
			return nil, nil, err
		}
		return append(dst[:0], a.Data.([]float32)...), shape, nil
	}
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	if b := rawBytes(dst); b != nil || n == 0 {
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, nil, fmt.Errorf("%w: data: shape %v needs %d bytes: %v", ErrFormat, shape, 4*n, err)
		}
		return dst, shape, nil
	}
	var w [4]byte
	for i := range dst {
		if _, err := io.ReadFull(r, w[:]); err != nil {
			return nil, nil, fmt.Errorf("%w: data: shape %v needs %d bytes: %v", ErrFormat, shape, 4*n, err)
		}
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(w[:]))
	}
	return dst, shape, nil
}

// Read decodes one array from r. Memory grows with the data read, not with
// the size the header states, so a short stream with a huge header fails
// cheaply.
func Read(r io.Reader) (*Array, error) { return read(r, -1) }

// header reads the preamble and header of one array from r, which holds
// size bytes in all (−1: unknown), and returns its dtype, shape and element
// count. With a known size, a header stating more data than the file holds
// is an error, so that nothing is allocated for it.
func header(r io.Reader, size int64) (descr string, shape []int, n int, err error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return "", nil, 0, fmt.Errorf("%w: short preamble: %v", ErrFormat, err)
	}
	if !bytes.Equal(pre[:6], magic) {
		return "", nil, 0, fmt.Errorf("%w: missing magic", ErrFormat)
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", nil, 0, fmt.Errorf("%w: short header length", ErrFormat)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", nil, 0, fmt.Errorf("%w: short header length", ErrFormat)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		if hlen > 1<<20 {
			return "", nil, 0, fmt.Errorf("%w: header of %d bytes", ErrFormat, hlen)
		}
	default:
		return "", nil, 0, fmt.Errorf("%w: version %d.%d", ErrFormat, pre[6], pre[7])
	}
	h := make([]byte, hlen)
	if _, err := io.ReadFull(r, h); err != nil {
		return "", nil, 0, fmt.Errorf("%w: short header", ErrFormat)
	}
	descr, fortran, shape, err := parseHeader(string(h))
	if err != nil {
		return "", nil, 0, err
	}
	if fortran {
		return "", nil, 0, fmt.Errorf("%w: Fortran order is not supported", ErrFormat)
	}
	n = 1
	for _, s := range shape {
		if s < 0 || (s > 0 && n > maxElements/s) {
			return "", nil, 0, fmt.Errorf("%w: shape %v too large", ErrFormat, shape)
		}
		n *= s
	}
	item, ok := itemSize[descr]
	if !ok {
		return "", nil, 0, fmt.Errorf("%w: dtype %q is not supported", ErrFormat, descr)
	}
	if size >= 0 {
		// The preamble, the header length and the header come first.
		prefix := int64(8 + hlen)
		if pre[6] == 1 {
			prefix += 2
		} else {
			prefix += 4
		}
		if need := int64(n) * int64(item); size-prefix < need {
			return "", nil, 0, fmt.Errorf("%w: data: shape %v needs %d bytes, the file holds %d", ErrFormat, shape, need, max(size-prefix, 0))
		}
	}
	return descr, shape, n, nil
}

// read decodes one array from r, which holds size bytes in all (−1:
// unknown).
func read(r io.Reader, size int64) (*Array, error) {
	descr, shape, n, err := header(r, size)
	if err != nil {
		return nil, err
	}
	return readData(r, size, descr, shape, n)
}

// readData decodes the n values that follow a header.
func readData(r io.Reader, size int64, descr string, shape []int, n int) (*Array, error) {
	need := int64(n) * int64(itemSize[descr])
	var err error
	var data []byte
	if size >= 0 {
		data = make([]byte, need)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("%w: data: %v", ErrFormat, err)
		}
	} else {
		if data, err = io.ReadAll(io.LimitReader(r, need)); err != nil {
			return nil, fmt.Errorf("%w: data: %v", ErrFormat, err)
		}
		if int64(len(data)) < need {
			return nil, fmt.Errorf("%w: data: shape %v needs %d bytes, got %d", ErrFormat, shape, need, len(data))
		}
	}
	a := &Array{Shape: shape}
	le := binary.LittleEndian
	switch descr {
	case "<f4":
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(le.Uint32(data[4*i:]))
		}
		a.Data = d
	case "<f8":
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Float64frombits(le.Uint64(data[8*i:]))
		}
		a.Data = d
	case "<i8":
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(le.Uint64(data[8*i:]))
		}
		a.Data = d
	case "<i4":
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(le.Uint32(data[4*i:]))
		}
		a.Data = d
	case "|u1", "|b1":
		a.Data = data
	}
	return a, nil
}

// itemSize is the size in bytes of each supported dtype.
var itemSize = map[string]int{"<f4": 4, "<f8": 8, "<i8": 8, "<i4": 4, "|u1": 1, "|b1": 1}

// parseHeader reads the Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func parseHeader(h string) (descr string, fortran bool, shape []int, err error) {
	h = strings.TrimSpace(h)
	field := func(key string) (string, bool) {
		i := strings.Index(h, "'"+key+"'")
		if i < 0 {
			return "", false
		}
		rest := strings.TrimSpace(h[i+len(key)+2:])
		if !strings.HasPrefix(rest, ":") {
			return "", false
		}
		return strings.TrimSpace(rest[1:]), true
	}
	v, ok := field("descr")
	if !ok || len(v) < 2 || v[0] != '\'' {
		return "", false, nil, fmt.Errorf("%w: header has no descr", ErrFormat)
	}
	end := strings.IndexByte(v[1:], '\'')
	if end < 0 {
		return "", false, nil, fmt.Errorf("%w: bad descr", ErrFormat)
	}
	descr = v[1 : 1+end]
	v, ok = field("fortran_order")
	if !ok {
		return "", false, nil, fmt.Errorf("%w: header has no fortran_order", ErrFormat)
	}
	fortran = strings.HasPrefix(v, "True")
	v, ok = field("shape")
	if !ok || !strings.HasPrefix(v, "(") {
		return "", false, nil, fmt.Errorf("%w: header has no shape", ErrFormat)
	}
	end = strings.IndexByte(v, ')')
	if end < 0 {
		return "", false, nil, fmt.Errorf("%w: bad shape", ErrFormat)
	}
	for _, p := range strings.Split(v[1:end], ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		s, err := strconv.Atoi(p)
		if err != nil || s < 0 {
			return "", false, nil, fmt.Errorf("%w: bad shape %q", ErrFormat, v[:end+1])
		}
		shape = append(shape, s)
	}
	return descr, fortran, shape, nil
}

// Write encodes data with the given shape as a version 1.0 .npy stream. data
// must be []float32, []float64, []int64, []int32 or []uint8 with as many
// elements as shape describes; otherwise Write returns an error.
func Write(w io.Writer, shape []int, data any) error {
	var descr string
	var n int
	switch d := data.(type) {
	case []float32:
		descr, n = "<f4", len(d)
	case []float64:
		descr, n = "<f8", len(d)
	case []int64:
		descr, n = "<i8", len(d)
	case []int32:
		descr, n = "<i4", len(d)
	case []uint8:
		descr, n = "|u1", len(d)
	default:
		return fmt.Errorf("npy: cannot write %T", data)
	}
	if n != numel(shape) {
		return fmt.Errorf("npy: %d elements for shape %v", n, shape)
	}
	var sb strings.Builder
	sb.WriteString("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (")
	for _, s := range shape {
		sb.WriteString(strconv.Itoa(s) + ", ")
	}
	sb.WriteString("), }")
	// Pad so that magic+version+len+header is a multiple of 64, ending in '\n'.
	total := len(magic) + 2 + 2 + sb.Len() + 1
	pad := (64 - total%64) % 64
	hdr := sb.String() + strings.Repeat(" ", pad) + "\n"
	if len(hdr) > math.MaxUint16 {
		return fmt.Errorf("npy: header too long")
	}
	bw := bufio.NewWriter(w)
	bw.Write(magic)
	bw.Write([]byte{1, 0})
	binary.Write(bw, binary.LittleEndian, uint16(len(hdr)))
	bw.WriteString(hdr)
	if b := rawBytes(data); b != nil {
		// A little-endian host writes the values as they lie in memory.
		if _, err := bw.Write(b); err != nil {
			return err
		}
		return bw.Flush()
	}
	if err := binary.Write(bw, binary.LittleEndian, data); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteFile writes the array to path atomically: it writes a temporary file in
// the same directory and renames it, so a reader never sees a partial file.
func WriteFile(path string, shape []int, data any) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".npy-*")
	if err != nil {
		return err
	}
	if err := Write(tmp, shape, data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// rawBytes returns the memory of a []float32 or []float64 as bytes on a
// little-endian host, else nil.
func rawBytes(data any) []byte {
	var one uint16 = 1
	if *(*byte)(unsafe.Pointer(&one)) != 1 {
		return nil
	}
	switch d := data.(type) {
	case []float32:
		if len(d) > 0 {
			return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 4*len(d))
		}
	case []float64:
		if len(d) > 0 {
			return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 8*len(d))
		}
	}
	return nil
}
