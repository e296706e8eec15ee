// Package shapesmodel embeds neuronlens's small CLIP trained on the shapes
// world (internal/shapes), so that tests, examples and documentation run on
// a real trained model without downloads.
//
// # The model
//
// The checkpoint is shapes-clip.safetensors in this directory: OpenAI key
// naming, float32, with the neuronlens.* metadata that [clip.Load] reads,
// so clip.Load reads the file like any other checkpoint. Its tokenizer is
// vocab.txt.gz, a merge list in the format of CLIP's
// bpe_simple_vocab_16e6.txt.gz, learned from the world's texts (read it with
// [clip.ReadBPEMerges]; SOT and EOT are the last two ids). shapes-clip.json
// holds the training configuration and the measured held-out quality. The
// files live here rather than in testdata/ because go:embed cannot reach
// outside a package's directory. `go run ./examples/train` remakes them;
// [Load] reads the folder it writes, at whatever size it was trained.
//
// # Use
//
// [Model] builds a fresh model from the embedded bytes on every call; keep
// the result rather than calling it per image. The model takes 64×64
// images (8×8 patches, so 64 patch tokens and the class token) and embeds
// into 64 dimensions. Both towers are width 64 with 4 heads and QuickGELU
// MLPs of 256 neurons; the image tower has 4 blocks, the text tower 3 and a
// context of 32 tokens. See shapes-clip.json for the training run and the
// measured zero-shot accuracy and recall.
//
// # Concurrency
//
// Model and Report are safe for concurrent use; a returned model is as safe
// as any loaded [clip.Model].
package shapesmodel
