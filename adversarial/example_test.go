package adversarial_test

import (
	"context"
	"log"
	"os"

	"github.com/neuronlens/neuronlens/adversarial"
	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/lens"
)

// Example mines words for one class pair on OpenAI's ViT-B/32, as METHOD.md
// §5 does, explains them, and attacks CLIP with images that an outside
// text-to-image model makes from a local language model's descriptions. It
// needs the checkpoint, an image folder for the lens statistics, a text
// pool, a chat server and the generated images, so it is not run here;
// examples/adversarial runs the same calls on the embedded shapes model.
func Example() {
	ctx := context.Background()
	m, err := clip.Load("ViT-B-32.pt")
	if err != nil {
		log.Fatal(err)
	}
	// The neurons' directions r_n of layers 8–10 over a set of images.
	images, err := lens.Folder("imagenet_subset/")
	if err != nil {
		log.Fatal(err)
	}
	res, err := lens.Analyze(ctx, m, images, lens.WithLayers(8, 9, 10), lens.WithK(100))
	if err != nil {
		log.Fatal(err)
	}
	// The text pool every direction is decomposed over.
	pool, err := decompose.LoadPool("30k.txt")
	if err != nil {
		log.Fatal(err)
	}
	dec, err := adversarial.NewTextDecomposer(ctx, m, pool.Texts, decompose.Reference)
	if err != nil {
		log.Fatal(err)
	}

	// Words that neurons tie to "dog", for images that show a cat; the
	// defaults are the reference's: 100 neurons, 128 terms, 50 words.
	pair := adversarial.Pair{A: "dog", B: "cat"}
	opts := []adversarial.Option{adversarial.WithThreshold(0.6), adversarial.WithBlocklist("puppy", "pug")}
	mined, err := adversarial.Mine(ctx, m, res, dec, pair, opts...)
	if err != nil {
		log.Fatal(err)
	}
	mined.Explain(os.Stdout, 10) // each word with the neurons and terms behind it

	// First run: descriptions from a local language model, kept so that
	// the second run sees the same ones.
	llm := &adversarial.ChatDescriber{Endpoint: "http://127.0.0.1:8080/v1/chat/completions", Temperature: 0.6}
	p := &adversarial.Pipeline{Model: m, Results: res, Decomposer: dec, Options: opts,
		Describer: &adversarial.CachedDescriber{Describer: llm, Path: "attack_out/descriptions.json"}}
	pairs := []adversarial.Pair{pair}
	methods := []adversarial.Method{adversarial.SecondOrder, adversarial.RandomNeurons, adversarial.SimilarWords}
	seeds := []uint64{0, 1, 2}
	plan, err := p.Describe(ctx, pairs, methods, seeds)
	if err != nil {
		log.Fatal(err)
	}
	todo, err := os.Create("attack_out/prompts.csv")
	if err != nil {
		log.Fatal(err)
	}
	adversarial.WritePrompts(todo, plan.Prompts(), 4, 0)
	todo.Close()

	// ... render prompts.csv with any text-to-image model into generated/,
	// listing the files in generated/index.csv (description,file) ...

	// Second run: judge the images; success when CLIP prefers "dog" over
	// "cat". (The indirect-effect baseline also needs
	// adversarial.WithIndirect.)
	if p.Generator, err = adversarial.OpenFolder("generated/"); err != nil {
		log.Fatal(err)
	}
	p.Dir = "attack_out/"
	rep, err := p.Run(ctx, pairs, methods, seeds)
	if err != nil {
		log.Fatal(err)
	}
	rep.Table(os.Stdout)
}
