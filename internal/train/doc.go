// Package train trains neuronlens's small CLIP on the shapes world
// (internal/shapes) with spago's autograd, and evaluates it.
//
// # What it does
//
// [LearnBPE] learns a small byte-level BPE vocabulary from the world's
// texts, in CLIP's merge-list format. [Run] trains a [clip.Model] of a given
// architecture with CLIP's symmetric contrastive loss and a learned
// temperature, AdamW and a cosine learning-rate schedule with linear warmup.
// [Evaluate] measures zero-shot class accuracy and image→caption recall@1 on
// held-out images. [Save] writes a model as a safetensors checkpoint in
// OpenAI naming, with the metadata [clip.Load] reads.
//
// # Determinism
//
// A run is a function of its [Config]: the data order is fixed (step s uses
// samples s·B to s·B+B-1 of shapes.Dataset(seed)), and the batch is cut into
// Config.Shards fixed shards. Each shard has its own replica of the model
// sharing the weights; a shard's samples run forward and backward one after
// another, so each replica's gradient is a sum in a fixed order, and the
// replicas' gradients are added in shard order. The worker count only
// schedules shards, so weights are bit-identical for any GOMAXPROCS.
//
// # Errors and concurrency
//
// Bad configurations are returned as errors. Run uses up to Config.Shards
// goroutines; a model under training must not be used elsewhere.
package train
