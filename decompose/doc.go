// Package decompose describes neurons with text: it codes each neuron's
// second-order direction r_n ([lens.Stats].Direction) as a sparse, signed sum
// of text embeddings (METHOD.md §3).
//
// # The chain
//
//	pool, _ := decompose.LoadPool("30k.txt")                 // one text per line
//	emb, _ := decompose.Embed(ctx, m, pool, decompose.WithCache(dir))
//	dict, _ := decompose.NewDictionary(emb, decompose.Reference)
//	ds, _ := decompose.DecomposeNeurons(ctx, dict, stats, 128) // OMP per neuron
//	ds.Save("layer9.json")                                   // the reference's layout
//
// [Embed] encodes each text raw with the text tower, normalizes it and
// multiplies by 100 ([Scale]). Its optional cache is keyed by fingerprints
// of the text tower's weights ([ModelFingerprint]), of the token ids and of
// the texts ([Pool.Fingerprint]); it is written a batch at a time with
// atomic files, so an interrupted run resumes, and a change of model or
// pool invalidates it.
//
// [NewDictionary] centres the embeddings over the pool and then applies the
// reference's column scaling ([Reference], the default) or scales each text
// to unit length ([Unit]). [Dictionary.Decompose] and [DecomposeNeurons] run
// Orthogonal Matching Pursuit ([sparse.OMP], [sparse.OMPBatch]) and return
// terms (text index, text, signed coefficient) sorted by |coef|, with the
// reconstruction and its cosine to the target.
//
// [ReconstructionCurve] measures zero-shot accuracy when every r_n is
// replaced by its k-term reconstruction (ablation (e) of METHOD.md §2, via
// [lens.AblateReplaced]); [Concepts] and [ImageConcepts] find the texts that
// an image's significant neurons contribute.
//
// # Layout
//
// Embeddings and atoms are [M, d] row-major float32: text i at
// Data[i*d:(i+1)*d]. Directions, reconstructions and coefficients are
// float64. Normalizations are computed in float64 and rounded once.
//
// # Errors, panics, concurrency
//
// Bad inputs from files or users (an empty pool, a model without text tower
// or tokenizer, k out of range, mismatched dimensions) are errors. In-memory
// shapes that disagree (effects vs stats in [Concepts]) panic. A
// [Dictionary] is read-only and safe for concurrent use; long calls take a
// context, spread work over [WithWorkers] goroutines and report through
// [WithProgress].
package decompose
