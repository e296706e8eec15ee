package torchfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strings"

	"github.com/neuronlens/neuronlens/internal/dtype"
	"github.com/neuronlens/neuronlens/internal/mmap"
	"github.com/neuronlens/neuronlens/internal/pickle"
)

var (
	// ErrFormat is returned, wrapped, for a malformed or unsupported file.
	ErrFormat = errors.New("torchfile: bad format")
	// ErrTruncated is returned, wrapped, when a storage or pickle ends early.
	ErrTruncated = errors.New("torchfile: file is truncated")
)

// Kind is the layout of a checkpoint file.
type Kind uint8

// The layouts [StateDict] reads.
const (
	Unknown     Kind = iota
	Zip              // torch.save, PyTorch ≥ 1.6
	Legacy           // torch.save(..., _use_new_zipfile_serialization=False)
	TorchScript      // torch.jit.save
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Zip:
		return "PyTorch zip"
	case Legacy:
		return "PyTorch legacy"
	case TorchScript:
		return "TorchScript"
	}
	return "unknown"
}

// Tensor is a float32 tensor. Data is row-major (contiguous): for shape
// [A, B], element (i, j) is Data[i*B+j]. A scalar has an empty Shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// legacyMagic is the first pickle of a legacy file: PROTO 2, LONG1 of
// 10 bytes, 0x1950a86a20f9469cfc6c little-endian.
var legacyMagic = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.")

// IsZip reports whether b starts like a zip archive.
func IsZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

// IsLegacy reports whether b starts with the magic number of a legacy torch.save file.
func IsLegacy(b []byte) bool { return bytes.HasPrefix(b, legacyMagic) }

// ReadFile maps the file at path and reads it as [StateDict] does. Errors
// from the file system name the path; format errors do not, so callers add it.
func ReadFile(path string) (map[string]Tensor, Kind, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, Unknown, err
	}
	sd, kind, err := StateDict(m.Data)
	if cerr := m.Close(); err == nil && cerr != nil {
		return nil, Unknown, cerr
	}
	return sd, kind, err
}

// StateDict reads the checkpoint whose whole contents are b and returns its
// tensors by state-dict key, and the kind of file.
func StateDict(b []byte) (map[string]Tensor, Kind, error) {
	switch {
	case IsZip(b):
		return readZip(b)
	case IsLegacy(b):
		sd, err := readLegacy(b)
		return sd, Legacy, err
	}
	return nil, Unknown, fmt.Errorf("%w: neither a zip archive nor a legacy torch.save file", ErrFormat)
}

// storage is one typed storage: numel elements of dt, in data once found.
type storage struct {
	key   string
	dt    dtype.DType
	numel int64
	data  []byte
}

// ref is a tensor view of a storage, checked to lie inside it.
type ref struct {
	st     *storage
	offset int64
	shape  []int
	stride []int64
}

func (r *ref) numel() int {
	n := 1
	for _, s := range r.shape {
		n *= s
	}
	return n
}

var storageTypes = map[string]dtype.DType{
	"FloatStorage": dtype.F32, "HalfStorage": dtype.F16, "BFloat16Storage": dtype.BF16,
	"DoubleStorage": dtype.F64, "LongStorage": dtype.I64, "IntStorage": dtype.I32,
	"ShortStorage": dtype.I16, "CharStorage": dtype.I8, "ByteStorage": dtype.U8, "BoolStorage": dtype.Bool,
}

// unpickler resolves storages and rebuilds tensors while decoding.
type unpickler struct {
	storages map[string]*storage
}

func newDecoder(u *unpickler) *pickle.Decoder {
	return &pickle.Decoder{Persistent: u.persistent, Reduce: u.reduce}
}

// persistent resolves ('storage', torch.<T>Storage, key, location, numel[, view]).
func (u *unpickler) persistent(pid any) (any, error) {
	t, ok := pid.(pickle.Tuple)
	if !ok || len(t) < 5 || t[0] != "storage" {
		return nil, fmt.Errorf("%w: persistent id %s is not a storage", ErrFormat, describe(pid))
	}
	g, ok := t[1].(pickle.Global)
	dt := storageTypes[g.Name]
	if !ok || g.Module != "torch" || dt == dtype.Invalid {
		return nil, fmt.Errorf("%w: unsupported storage type %s", ErrFormat, describe(t[1]))
	}
	key, ok1 := t[2].(string)
	numel, ok2 := t[4].(int64)
	if !ok1 || !ok2 || numel < 0 || numel > math.MaxInt64/8 {
		return nil, fmt.Errorf("%w: bad storage id %s", ErrFormat, describe(pid))
	}
	if len(t) > 5 && t[5] != nil {
		return nil, fmt.Errorf("%w: storage %q: storage views (legacy view metadata) are not supported", ErrFormat, key)
	}
	if st, ok := u.storages[key]; ok {
		if st.dt != dt || st.numel != numel {
			return nil, fmt.Errorf("%w: storage %q is both %v×%d and %v×%d", ErrFormat, key, st.dt, st.numel, dt, numel)
		}
		return st, nil
	}
	st := &storage{key: key, dt: dt, numel: numel}
	u.storages[key] = st
	return st, nil
}

// reduce rebuilds tensors and parameters; other calls are left to the decoder.
func (u *unpickler) reduce(class pickle.Global, args pickle.Tuple) (any, bool, error) {
	if class.Module == "torch._utils" {
		switch class.Name {
		case "_rebuild_tensor_v2", "_rebuild_tensor", "_rebuild_tensor_v3":
			r, err := rebuildTensor(args)
			return r, err == nil, err
		case "_rebuild_parameter", "_rebuild_parameter_with_state":
			if len(args) == 0 {
				return nil, false, fmt.Errorf("%w: %s without arguments", ErrFormat, class)
			}
			return args[0], true, nil
		}
	}
	if class == (pickle.Global{Module: "torch._tensor", Name: "_rebuild_from_type_v2"}) && len(args) >= 3 {
		// (func, type, args, state): a tensor subclass; rebuild the tensor.
		f, ok1 := args[0].(pickle.Global)
		inner, ok2 := args[2].(pickle.Tuple)
		if ok1 && ok2 {
			return u.reduce(f, inner)
		}
	}
	return nil, false, nil
}

// rebuildTensor checks (storage, offset, size, stride, ...) against the storage.
func rebuildTensor(args pickle.Tuple) (*ref, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("%w: tensor rebuilt from %d arguments, want at least 4", ErrFormat, len(args))
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("%w: tensor of a %s, want a storage", ErrFormat, describe(args[0]))
	}
	offset, ok := args[1].(int64)
	size, err := ints(args[2])
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: storage %q: bad tensor offset %s or size %s", ErrFormat, st.key, describe(args[1]), describe(args[2]))
	}
	stride, err := ints(args[3])
	if err != nil || len(stride) != len(size) {
		return nil, fmt.Errorf("%w: storage %q: stride %s does not match size %v", ErrFormat, st.key, describe(args[3]), size)
	}
	// Check: every size and stride non-negative, the element count at most
	// the storage's (a view never holds more elements than its storage, unless
	// it broadcasts, which checkpoints do not), the last element inside it.
	if offset < 0 {
		return nil, fmt.Errorf("%w: storage %q: negative offset %d", ErrFormat, st.key, offset)
	}
	n, last := int64(1), offset
	for i := range size {
		if size[i] < 0 || stride[i] < 0 || offset < 0 {
			return nil, fmt.Errorf("%w: storage %q: negative size %v, stride %v or offset %d", ErrFormat, st.key, size, stride, offset)
		}
		if size[i] > 0 && n > st.numel/size[i] {
			n = st.numel + 1
			break
		}
		n *= size[i]
	}
	if n > st.numel {
		return nil, fmt.Errorf("%w: storage %q: tensor of size %v needs more than its %d elements", ErrFormat, st.key, size, st.numel)
	}
	if n > 0 {
		for i := range size {
			if stride[i] > 0 && size[i]-1 > (st.numel-last)/stride[i] {
				return nil, fmt.Errorf("%w: storage %q: tensor of size %v, stride %v, offset %d reaches past its %d elements",
					ErrFormat, st.key, size, stride, offset, st.numel)
			}
			last += (size[i] - 1) * stride[i]
		}
		if last >= st.numel {
			return nil, fmt.Errorf("%w: storage %q: tensor of size %v, stride %v, offset %d reaches past its %d elements",
				ErrFormat, st.key, size, stride, offset, st.numel)
		}
	}
	shape := make([]int, len(size))
	for i, s := range size {
		shape[i] = int(s)
	}
	return &ref{st: st, offset: offset, shape: shape, stride: stride}, nil
}

func ints(v any) ([]int64, error) {
	var items []any
	switch t := v.(type) {
	case pickle.Tuple:
		items = t
	case *pickle.Object: // torch.Size((...)) in some files
		if t.Class.Name == "Size" && len(t.Args) == 1 {
			return ints(t.Args[0])
		}
		return nil, ErrFormat
	default:
		return nil, ErrFormat
	}
	out := make([]int64, len(items))
	for i, x := range items {
		n, ok := x.(int64)
		if !ok {
			return nil, ErrFormat
		}
		out[i] = n
	}
	return out, nil
}

// describe prints a decoded value briefly, for error messages.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case string:
		if len(t) > 40 {
			t = t[:40] + "…"
		}
		return fmt.Sprintf("%q", t)
	case int64, bool, float64:
		return fmt.Sprint(t)
	case *big.Int:
		return "a big integer"
	case pickle.Global:
		return t.String()
	case *pickle.Object:
		return "a " + t.Class.String()
	case pickle.Tuple:
		parts := make([]string, 0, min(len(t), 6))
		for i, x := range t {
			if i == 5 {
				parts = append(parts, "…")
				break
			}
			switch x.(type) {
			case pickle.Tuple, *pickle.List, *pickle.Dict:
				parts = append(parts, fmt.Sprintf("%T", x))
			default:
				parts = append(parts, describe(x))
			}
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("a %T", v)
}

// readZip reads a zip checkpoint or TorchScript archive.
func readZip(b []byte) (map[string]Tensor, Kind, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, Unknown, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	files := make(map[string]*zip.File, len(zr.File))
	prefix := ""
	found := false
	for _, f := range zr.File {
		files[f.Name] = f
		if dir, base, ok := strings.Cut(f.Name, "/"); ok && base == "data.pkl" && !found {
			prefix, found = dir+"/", true
		}
	}
	if !found {
		return nil, Unknown, fmt.Errorf("%w: zip archive has no <archive>/data.pkl", ErrFormat)
	}
	pkl, err := entryBytes(b, files[prefix+"data.pkl"], 1<<30)
	if err != nil {
		return nil, Unknown, fmt.Errorf("%sdata.pkl: %w", prefix, err)
	}
	u := &unpickler{storages: make(map[string]*storage)}
	root, _, err := newDecoder(u).Decode(pkl)
	if err != nil {
		return nil, Unknown, fmt.Errorf("%sdata.pkl: %w", prefix, pickleError(err))
	}
	refs, kind, err := collect(root, &codeIndex{b: b, files: files, prefix: prefix})
	if err != nil {
		return nil, Unknown, err
	}
	for _, st := range u.storages {
		f := files[prefix+"data/"+st.key]
		if f == nil {
			continue // not used by any collected tensor, or missing: checked below
		}
		need := uint64(st.numel) * uint64(st.dt.Size())
		if f.UncompressedSize64 < need {
			return nil, Unknown, fmt.Errorf("%w: storage %q: %s holds %d bytes, want %d (%d × %v)",
				ErrTruncated, st.key, f.Name, f.UncompressedSize64, need, st.numel, st.dt)
		}
		if !used(refs, st) {
			continue
		}
		data, err := entryBytes(b, f, need)
		if err != nil {
			return nil, Unknown, fmt.Errorf("storage %q: %w", st.key, err)
		}
		st.data = data[:need]
	}
	sd, err := materialize(refs)
	return sd, kind, err
}

func used(refs map[string]*ref, st *storage) bool {
	for _, r := range refs {
		if r.st == st {
			return true
		}
	}
	return false
}

// maxRatio bounds the compression ratio of a zip entry before its buffer is
// allocated; deflate cannot exceed about 1032:1.
const maxRatio = 1100

// entryBytes returns the contents of a zip entry of at most limit bytes:
// a slice of b for a stored entry, a new buffer for a compressed one.
func entryBytes(b []byte, f *zip.File, limit uint64) ([]byte, error) {
	if f.UncompressedSize64 > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrFormat, f.Name, f.UncompressedSize64, limit)
	}
	if f.Method != zip.Store && f.UncompressedSize64/maxRatio > f.CompressedSize64 {
		return nil, fmt.Errorf("%w: %s claims %d bytes from %d compressed", ErrFormat, f.Name, f.UncompressedSize64, f.CompressedSize64)
	}
	if f.Method == zip.Store {
		off, err := f.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrFormat, f.Name, err)
		}
		if off < 0 || f.UncompressedSize64 > uint64(len(b)) || uint64(off) > uint64(len(b))-f.UncompressedSize64 {
			return nil, fmt.Errorf("%w: %s: %d bytes at offset %d run past the %d-byte file", ErrTruncated, f.Name, f.UncompressedSize64, off, len(b))
		}
		return b[off : uint64(off)+f.UncompressedSize64], nil
	}
	r, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, f.Name, err)
	}
	defer r.Close()
	buf := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTruncated, f.Name, err)
	}
	return buf, nil
}

// readLegacy reads the pickles and raw storages of a legacy torch.save file.
func readLegacy(b []byte) (map[string]Tensor, error) {
	pos := len(legacyMagic)
	next := func(d *pickle.Decoder, what string) (any, error) {
		v, n, err := d.Decode(b[pos:])
		if err != nil {
			return nil, fmt.Errorf("%s pickle at byte %d: %w", what, pos, pickleError(err))
		}
		pos += n
		return v, nil
	}
	plain := &pickle.Decoder{}
	version, err := next(plain, "protocol version")
	if err != nil {
		return nil, err
	}
	if version != int64(1001) {
		return nil, fmt.Errorf("%w: legacy protocol version %s, want 1001", ErrFormat, describe(version))
	}
	info, err := next(plain, "system info")
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pickle.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le != true {
			return nil, fmt.Errorf("%w: big-endian legacy files are not supported", ErrFormat)
		}
	}
	u := &unpickler{storages: make(map[string]*storage)}
	root, err := next(newDecoder(u), "main")
	if err != nil {
		return nil, err
	}
	keysV, err := next(plain, "storage keys")
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*pickle.List)
	if !ok {
		return nil, fmt.Errorf("%w: storage keys are a %s, want a list", ErrFormat, describe(keysV))
	}
	for _, kv := range keys.Items {
		key, ok := kv.(string)
		st := u.storages[key]
		if !ok || st == nil {
			return nil, fmt.Errorf("%w: storage key %s is not used by any tensor", ErrFormat, describe(kv))
		}
		if len(b)-pos < 8 {
			return nil, fmt.Errorf("%w: storage %q: no element count at byte %d", ErrTruncated, key, pos)
		}
		count := binary.LittleEndian.Uint64(b[pos:])
		pos += 8
		if count != uint64(st.numel) {
			return nil, fmt.Errorf("%w: storage %q has %d elements, its tensors say %d", ErrFormat, key, count, st.numel)
		}
		need := count * uint64(st.dt.Size())
		if need > uint64(len(b)-pos) {
			return nil, fmt.Errorf("%w: storage %q: %d bytes at byte %d run past the %d-byte file", ErrTruncated, key, need, pos, len(b))
		}
		st.data = b[pos : pos+int(need)]
		pos += int(need)
	}
	refs, _, err := collect(root, nil)
	if err != nil {
		return nil, err
	}
	return materialize(refs)
}

// maxShare bounds how many times, on average, the tensors may read the
// storages they view (tied weights read one storage twice), so that a small
// pickle cannot make many tensors of one large storage.
const maxShare = 4

// materialize converts every view to a contiguous float32 tensor.
func materialize(refs map[string]*ref) (map[string]Tensor, error) {
	var want, have int64
	seen := make(map[*storage]bool)
	for _, r := range refs {
		want += int64(r.numel())
		if !seen[r.st] {
			seen[r.st] = true
			have += r.st.numel
		}
	}
	if want > maxShare*have+1024 {
		return nil, fmt.Errorf("%w: %d tensors hold %d elements from storages of %d", ErrFormat, len(refs), want, have)
	}
	out := make(map[string]Tensor, len(refs))
	keys := make([]string, 0, len(refs))
	for k := range refs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r := refs[k]
		if r.st.data == nil {
			return nil, fmt.Errorf("%w: tensor %q: storage %q is missing from the file", ErrTruncated, k, r.st.key)
		}
		out[k] = Tensor{Shape: r.shape, Data: r.float32()}
	}
	return out, nil
}

// float32 copies the view out of its storage, converting each contiguous run
// along the last dimension at once.
func (r *ref) float32() []float32 {
	n := r.numel()
	out := make([]float32, n)
	if n == 0 {
		return out
	}
	size := r.st.dt.Size()
	d := len(r.shape)
	if d == 0 {
		dtype.ToFloat32(out, r.st.data[int(r.offset)*size:int(r.offset+1)*size], r.st.dt)
		return out
	}
	inner := r.shape[d-1]
	idx := make([]int, d) // index over all but the last dimension
	for o := 0; o < n; o += inner {
		base := r.offset
		for i := 0; i < d-1; i++ {
			base += int64(idx[i]) * r.stride[i]
		}
		dst := out[o : o+inner]
		if r.stride[d-1] == 1 {
			dtype.ToFloat32(dst, r.st.data[int(base)*size:(int(base)+inner)*size], r.st.dt)
		} else {
			for j := range dst {
				e := int(base + int64(j)*r.stride[d-1])
				dtype.ToFloat32(dst[j:j+1], r.st.data[e*size:(e+1)*size], r.st.dt)
			}
		}
		for i := d - 2; i >= 0; i-- {
			idx[i]++
			if idx[i] < r.shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// kindError gives an error from another package this package's sentinel too.
type kindError struct{ kind, err error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.kind, e.err} }

// pickleError marks a pickle error with ErrTruncated or ErrFormat.
func pickleError(err error) error {
	if errors.Is(err, ErrFormat) || errors.Is(err, ErrTruncated) {
		return err
	}
	if errors.Is(err, pickle.ErrTruncated) {
		return kindError{ErrTruncated, err}
	}
	return kindError{ErrFormat, err}
}
