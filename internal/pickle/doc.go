// Package pickle decodes Python pickles safely: it runs no code and builds no
// Python objects, only plain Go values. It covers the opcodes that torch.save
// and torch.jit.save write (protocol 2, and the protocol 2–5 opcodes they use)
// plus the common protocol 0/1 text opcodes.
//
// # Values
//
// Decoded values are Go values of these types:
//
//	None → nil            bool → bool          int → int64, or *big.Int when it does not fit
//	float → float64       str → string         bytes, bytearray → []byte
//	tuple → Tuple         list, set → *List    dict, OrderedDict → *Dict
//	a class or function named by GLOBAL/STACK_GLOBAL → Global
//	anything built from a Global (REDUCE, NEWOBJ, INST, OBJ) → *Object, unless
//	Decoder.Reduce builds something else
//
// Persistent ids (torch's storages) go through Decoder.Persistent.
//
// # Safety
//
// Decoding is a loop over the input with no recursion; every length in the
// input is checked against the bytes that remain before anything is
// allocated, so memory stays proportional to the input. Malformed input gives
// an error wrapping [ErrFormat], input that stops early one wrapping
// [ErrTruncated]. Values may contain cycles (a list appended to itself);
// code that walks them must guard against that.
package pickle
