// Package adversarial builds semantic adversarial examples from CLIP's
// neurons (METHOD.md §5): images that truly show class B but that CLIP
// classifies as class A, made from words that neurons spuriously tie to A.
//
// # The pipeline
//
//  1. [Mine]: over the lens directions r_n of several layers together
//     (lens.Results), with Δ = e(A) − e(B) the difference of the unit
//     embeddings of the raw class names, keep the 100 neurons of largest
//     |<r_n, Δ>|; decompose each r_n into 128 texts ([Decomposer],
//     [TextDecomposer] over package decompose); each (neuron, term) entry
//     scores Coef·<r_n, Δ>.
//  2. Filter: drop texts that are or contain A, contain a blocklisted
//     synonym ([WithBlocklist]), or whose cosine similarity to A under the
//     CLIP text tower reaches the threshold ([WithThreshold], 0.6); every
//     dropped text is reported with its [Reason] ([Mined.Dropped]). Keep the
//     50 best texts ([Mined.Words]). Each word lists the neurons and terms
//     that produced it ([Word.Sources], [Mined.Explain]).
//  3. A [Describer] writes descriptions that contain B and never A
//     ([Request], [Valid]): [TemplateDescriber] composes them in the shapes
//     world's grammar; [ChatDescriber] asks any OpenAI-compatible chat
//     endpoint ([ChatPrompt], [ParseList]).
//  4. A [Generator] renders each description: [ShapesGenerator] parses it
//     into a shapes scene and renders it; [FolderGenerator] reads images a
//     user made with any text-to-image model, listed in an index.csv. That
//     takes two runs: [Pipeline.Describe] gives the descriptions
//     ([Report.Prompts], [WritePrompts] writes the to-do list), the outside
//     model renders them, then [Pipeline.Run] judges the folder's images;
//     a [CachedDescriber] makes a language model answer both runs alike.
//  5. The [Judge] counts an image as a success when CLIP prefers A over B
//     (binary zero-shot test). [Pipeline.Run] does all of this for pairs,
//     methods and seeds, writes every image, its description and its scores
//     under a folder with an index.csv ([Report.Write]), and tabulates the
//     success rate as mean ± std over seeds ([Report.Table]).
//
// # Settings for a small model
//
// The defaults are the reference's, for ViT-B/32 (d = 512). For a small
// model such as the embedded shapes CLIP (d = 64) three of them need care:
//
//   - Terms: OMP with more atoms than d fits r_n exactly and returns
//     arbitrary coefficients, so use [WithTerms] near d/4 (the reference's
//     128 of 512).
//   - Neurons: [WithNeurons] at the reference's share (100 of the 9216
//     neurons of layers 8–10) keeps the selection as selective.
//   - Threshold: the reference drops words at similarity 0.6 to A under an
//     independent sentence-embedding model, to remove A's synonyms. The
//     threshold here is measured with the CLIP text tower ([WithThreshold]);
//     a small text tower trained on the same captions puts almost every word
//     at 0.6–0.96 of A and, having learned the world's co-occurrences, puts
//     A's correlated concept among the most similar (on the shapes model:
//     sky at 0.92 of star, striped at 0.93 of diamond, water at 0.95 of
//     ring). Its similarity then measures the very tie the attack looks
//     for, not synonymy, and no threshold separates the two. Where the
//     vocabulary is closed and has no synonyms of A besides phrases that
//     contain A (the shapes world), take the blocklist route: turn the
//     threshold off (any value above 1) and list real synonyms with
//     [WithBlocklist]; the target filter already drops A, its plural and
//     every phrase holding it. Keep 0.6 for real CLIP.
//
// [ShapesPairs] chooses the class pairs of the shapes world by how much
// each correlated concept moves the model (images of B drawn with A's
// concept against plain images of B), before any word is mined.
//
// # Baselines
//
// [RandomNeurons] (random neurons of the same layers), [IndirectNeurons]
// (the neurons whose mean indirect effect, [ComputeIndirect], projects most
// on Δ; affordable on small models only) and [SimilarWords] (the pool's
// texts most similar to A that pass the filter) go through the same filter,
// describer, generator and budget.
//
// # Determinism, errors, concurrency
//
// Everything is deterministic for a seed: random neurons, the template
// describer's draws and the generator's layouts are seeded; ties are broken
// by index. Bad inputs (empty class names, missing layers, wrong
// dimensions, unreadable folders, a chat server's bad answer) are errors;
// a contact sheet with a non-positive size panics. A Pipeline may not be
// used by two Run calls at once; the model it holds is shared read-only.
package adversarial
