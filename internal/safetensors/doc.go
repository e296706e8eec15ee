// Package safetensors reads and writes the safetensors checkpoint format.
//
// # Layout
//
// A file is an 8-byte little-endian header length N, then N bytes of JSON,
// then the data section:
//
//	[N uint64 LE][{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//	  "__metadata__": {"key": "value"}}][data ...]
//
// Offsets are relative to the start of the data section, tensors are
// row-major and little-endian.
//
// # Checks
//
// [Parse] validates the whole header before anything is allocated for the
// tensors: N must fit in the file, every dtype must be known, every shape
// must be non-negative with a byte count (elements × element size) that does
// not overflow and equals end−begin, and every range must lie inside the data
// section, and no two ranges may overlap. A file shorter than its header
// says gives [ErrTruncated]; anything
// else malformed gives [ErrFormat]. Errors name the tensor key and shapes.
// Nothing in this package panics on file contents.
//
// [ReadFile] maps the file, converts every tensor to float32 (one copy, from
// the mapping into the result) and unmaps it. Values of a [File] may be read
// concurrently.
package safetensors
