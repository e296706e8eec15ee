// Package torchfile reads the tensors of PyTorch checkpoint files without
// Python: torch.save files in the zip format (PyTorch ≥ 1.6) and in the
// legacy format, and TorchScript archives written by torch.jit.save.
//
// # Formats
//
// A zip checkpoint holds <archive>/data.pkl, a pickle of the saved object in
// which each tensor refers, by a persistent id, to a storage stored raw as
// <archive>/data/<key>. A TorchScript archive has the same layout, but
// data.pkl holds the module tree: objects of classes named __torch__.… whose
// state holds submodules, parameters, buffers and plain values, and
// <archive>/code/ holds the class definitions, which list each class's
// __parameters__ and __buffers__.
//
// A legacy checkpoint is a sequence of pickles: a magic number, a protocol
// version, system information, the saved object, and the list of storage
// keys; then each storage in that order as an 8-byte little-endian element
// count followed by the raw elements.
//
// Storages are little-endian. float32, float16, bfloat16, float64 and the
// integer types are converted to float32.
//
// # The state dict
//
// [StateDict] accepts a dict of tensors, an open_clip training checkpoint
// {"state_dict": {...}} (a "module." prefix on keys, left by
// DistributedDataParallel, is removed), a TorchScript module, and a whole
// pickled nn.Module (torch.save(model)); it flattens modules to dotted keys
// as module.state_dict() names them (parameters and persistent buffers).
// Non-tensor values are skipped. No class named in a pickle is ever
// imported or run: the few rebuild functions torch uses are recognised by
// name and every other object is kept as plain data.
//
// # Checks
//
// Every tensor's storage offset, sizes and strides are checked against its
// storage, and every storage against the bytes that hold it, before anything
// is allocated; non-contiguous views are copied out element by element.
// Errors wrap [ErrFormat] or [ErrTruncated] and name the key involved.
// Nothing here panics on file contents.
package torchfile
