package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"

	"github.com/neuronlens/neuronlens/internal/dtype"
	"github.com/neuronlens/neuronlens/internal/mmap"
)

var (
	// ErrFormat is returned, wrapped, for a malformed header.
	ErrFormat = errors.New("safetensors: bad format")
	// ErrTruncated is returned, wrapped, when the file is shorter than its header says.
	ErrTruncated = errors.New("safetensors: file is truncated")
)

// maxHeader bounds the JSON header: 100 MiB, as the reference implementation does.
const maxHeader = 100 << 20

// metadataKey is the header entry that holds string metadata.
const metadataKey = "__metadata__"

// Info describes one tensor of a file.
type Info struct {
	DType dtype.DType
	Shape []int
	Begin int // offset of the first byte in the data section
	End   int // offset past the last byte; End-Begin = elements × DType.Size()
}

// Len returns the number of elements that Shape describes.
func (i Info) Len() int { return numel(i.Shape) }

// File is a parsed safetensors file whose data still lives in the caller's bytes.
type File struct {
	// Tensors maps each key to its description.
	Tensors map[string]Info
	// Metadata is the __metadata__ entry, nil when absent.
	Metadata map[string]string
	data     []byte
}

// Tensor is a float32 tensor. Data is row-major: for shape [A, B], element
// (i, j) is Data[i*B+j]. A scalar has an empty Shape and one element.
type Tensor struct {
	Shape []int
	Data  []float32
}

type headerEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// Parse reads the header of the safetensors file whose whole contents are b
// and checks it (see the package documentation). The returned File refers to
// b, which must not change while the File is used.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the 8-byte header length", ErrTruncated, len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeader {
		return nil, fmt.Errorf("%w: header length %d exceeds the %d-byte limit", ErrFormat, n, maxHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("%w: header length %d exceeds the %d bytes after it", ErrTruncated, n, len(b)-8)
	}
	hdr := b[8 : 8+n]
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, fmt.Errorf("%w: header does not start with '{'", ErrFormat)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("%w: header JSON: %v", ErrFormat, err)
	}
	data := b[8+n:]
	f := &File{Tensors: make(map[string]Info, len(raw)), data: data}
	for _, key := range sortedKeys(raw) {
		msg := raw[key]
		if key == metadataKey {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("%w: %s is not a map of strings: %v", ErrFormat, metadataKey, err)
			}
			continue
		}
		info, err := parseEntry(key, msg, len(data))
		if err != nil {
			return nil, err
		}
		f.Tensors[key] = info
	}
	// Ranges must not overlap, so that converting every tensor allocates at
	// most as many elements as the data section holds bytes.
	keys := f.Names()
	sort.SliceStable(keys, func(i, j int) bool { return f.Tensors[keys[i]].Begin < f.Tensors[keys[j]].Begin })
	for i := 1; i < len(keys); i++ {
		prev, cur := f.Tensors[keys[i-1]], f.Tensors[keys[i]]
		if cur.Begin < prev.End {
			return nil, fmt.Errorf("%w: tensors %q [%d, %d) and %q [%d, %d) overlap",
				ErrFormat, keys[i-1], prev.Begin, prev.End, keys[i], cur.Begin, cur.End)
		}
	}
	return f, nil
}

func parseEntry(key string, msg json.RawMessage, dataLen int) (Info, error) {
	var e headerEntry
	if err := json.Unmarshal(msg, &e); err != nil {
		return Info{}, fmt.Errorf("%w: tensor %q: %v", ErrFormat, key, err)
	}
	dt := dtype.Parse(e.DType)
	if dt == dtype.Invalid {
		return Info{}, fmt.Errorf("%w: tensor %q: unsupported dtype %q", ErrFormat, key, e.DType)
	}
	if len(e.DataOffsets) != 2 {
		return Info{}, fmt.Errorf("%w: tensor %q: data_offsets has %d values, want 2", ErrFormat, key, len(e.DataOffsets))
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin > end {
		return Info{}, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d) run backwards", ErrFormat, key, begin, end)
	}
	shape := make([]int, len(e.Shape))
	count := uint64(dt.Size())
	for i, s := range e.Shape {
		if s < 0 || uint64(s) > math.MaxInt {
			return Info{}, fmt.Errorf("%w: tensor %q: bad shape %v", ErrFormat, key, e.Shape)
		}
		shape[i] = int(s)
		hi, lo := bits.Mul64(count, uint64(s))
		if hi != 0 {
			return Info{}, fmt.Errorf("%w: tensor %q: shape %v overflows", ErrFormat, key, e.Shape)
		}
		count = lo
	}
	if count != end-begin {
		return Info{}, fmt.Errorf("%w: tensor %q: %s %v needs %d bytes, data_offsets [%d, %d) hold %d",
			ErrFormat, key, dt, e.Shape, count, begin, end, end-begin)
	}
	if end > uint64(dataLen) {
		return Info{}, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d) end past the %d-byte data section",
			ErrTruncated, key, begin, end, dataLen)
	}
	return Info{DType: dt, Shape: shape, Begin: int(begin), End: int(end)}, nil
}

// Names returns the tensor keys in sorted order.
func (f *File) Names() []string { return sortedKeys(f.Tensors) }

// Float32 converts the tensor key to a new float32 slice of Info.Len elements.
// It returns an error wrapping [ErrFormat] when key is absent.
func (f *File) Float32(key string) ([]float32, error) {
	info, ok := f.Tensors[key]
	if !ok {
		return nil, fmt.Errorf("%w: no tensor %q", ErrFormat, key)
	}
	out := make([]float32, info.Len())
	dtype.ToFloat32(out, f.data[info.Begin:info.End], info.DType)
	return out, nil
}

// Read parses the safetensors file whose contents are b and converts every
// tensor to float32. It returns the tensors and the metadata (nil when absent).
func Read(b []byte) (map[string]Tensor, map[string]string, error) {
	f, err := Parse(b)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]Tensor, len(f.Tensors))
	for key, info := range f.Tensors {
		data, err := f.Float32(key)
		if err != nil {
			return nil, nil, err
		}
		out[key] = Tensor{Shape: info.Shape, Data: data}
	}
	return out, f.Metadata, nil
}

// ReadFile maps the file at path, reads it as [Read] does and unmaps it.
// Errors from the file system name the path; format errors do not, so
// callers add it.
func ReadFile(path string) (map[string]Tensor, map[string]string, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, nil, err
	}
	t, md, err := Read(m.Data)
	if cerr := m.Close(); err == nil && cerr != nil {
		return nil, nil, cerr
	}
	return t, md, err
}

// Write writes tensors as float32 and metadata (which may be nil) in the
// safetensors format, keys in sorted order, data packed without gaps. It
// returns an error if a tensor's Data does not have the length its Shape
// says, if a key is empty or "__metadata__", or if w fails.
func Write(w io.Writer, tensors map[string]Tensor, metadata map[string]string) error {
	header := make(map[string]any, len(tensors)+1)
	var off uint64
	keys := sortedKeys(tensors)
	for _, k := range keys {
		t := tensors[k]
		if k == "" || k == metadataKey {
			return fmt.Errorf("safetensors: write: bad tensor key %q", k)
		}
		if numel(t.Shape) != len(t.Data) || slices.ContainsFunc(t.Shape, func(s int) bool { return s < 0 }) {
			return fmt.Errorf("safetensors: write: tensor %q has shape %v but %d values", k, t.Shape, len(t.Data))
		}
		n := uint64(4 * len(t.Data))
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[k] = headerEntry{DType: "F32", Shape: toInt64(shape), DataOffsets: []uint64{off, off + n}}
		off += n
	}
	if metadata != nil {
		header[metadataKey] = metadata
	}
	js, err := json.Marshal(header) // json sorts map keys
	if err != nil {
		return fmt.Errorf("safetensors: write: header: %w", err)
	}
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, strings.Repeat(" ", pad)...)
	}
	buf := make([]byte, 8, 8+len(js))
	binary.LittleEndian.PutUint64(buf, uint64(len(js)))
	if _, err := w.Write(append(buf, js...)); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	chunk := make([]byte, 0, 1<<16)
	for _, k := range keys {
		for _, v := range tensors[k].Data {
			chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
			if len(chunk) == cap(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return fmt.Errorf("safetensors: write: %w", err)
				}
				chunk = chunk[:0]
			}
		}
	}
	if _, err := w.Write(chunk); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	return nil
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
