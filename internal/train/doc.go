// Package train trains neuronlens's small CLIP on the shapes world
// (internal/shapes) with spago's autograd, and evaluates it.
//
// # What it does
//
// [LearnBPE] learns a small byte-level BPE vocabulary from the world's
// texts, in CLIP's merge-list format. [Run] trains a [clip.Model] of a given
// architecture with CLIP's symmetric contrastive loss and a learned
// temperature, AdamW and a cosine learning-rate schedule with linear warmup.
// The text of a pair is the sample's caption, or with probability
// Config.PromptFrac one of its class's zero-shot prompts ([Text]). A second,
// weighted loss (Config.ClassWeight) scores every image against one prompt
// per class: the zero-shot classifier's own objective, which the captions
// alone teach slowly because colours and backgrounds already tell most
// captions apart.
// [Evaluate] measures zero-shot class accuracy and image→caption recall@1 on
// held-out images. [Save] writes a model as a safetensors checkpoint in
// OpenAI naming, with the metadata [clip.Load] reads.
//
// # Determinism
//
// A run is a function of its [Config]: the data order is fixed (step s uses
// samples s·B to s·B+B-1 of shapes.Dataset(seed)), and the batch is cut into
// Config.Shards fixed shards. Each shard has its own replica of the model
// sharing the weights. The losses run on detached copies of the embeddings
// (one operator each, so their gradients are exact and ordered); those
// gradients then flow back through each sample's graph, one sample after
// another within a shard, so each replica's gradient is a sum in a fixed
// order, and the replicas' gradients are added in shard order. (spago's
// ag.Backward runs operators concurrently, so one backward pass over the
// whole batch would add the samples' contributions to a shared weight in
// an order that changes from run to run.) The worker count only
// schedules shards, so weights are bit-identical for any GOMAXPROCS.
//
// # Errors and concurrency
//
// Bad configurations are returned as errors. Run uses up to Config.Shards
// goroutines; a model under training must not be used elsewhere.
package train
