// Command zeroshot classifies a folder of images with a CLIP model, a
// vocabulary and a list of labels, the way CLIP's zero-shot evaluation does.
//
//	go run ./examples/zeroshot -model ViT-B-32.pt -vocab bpe_simple_vocab_16e6.txt.gz \
//	    -labels ../shared/data/imagenet/cifar10_classes.txt -images photos/
//
// It prints one line per image: the file, the best label and its probability,
// then the runner-up labels.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/neuronlens/neuronlens/clip"

	"github.com/neuronlens/neuronlens/internal/imagefile"
)

func main() {
	model := flag.String("model", "", "CLIP checkpoint: a file (.pt, .bin, .safetensors) or a Hugging Face / open_clip directory (required)")
	vocab := flag.String("vocab", "", "tokenizer vocabulary: bpe_simple_vocab_16e6.txt.gz or vocab.json (not needed for a Hugging Face directory)")
	labels := flag.String("labels", "", "file with one class name per line (required)")
	templates := flag.String("templates", "", "file with one prompt template per line, {} standing for the class name (default: \"a photo of a {}.\")")
	images := flag.String("images", "", "folder of images to classify (png, jpeg, gif) (required)")
	act := flag.String("activation", "", "MLP activation if the checkpoint does not say: quick_gelu or gelu")
	top := flag.Int("top", 3, "labels to print per image")
	flag.Parse()
	if err := run(*model, *vocab, *labels, *templates, *images, *act, *top); err != nil {
		fmt.Fprintln(os.Stderr, "zeroshot:", err)
		os.Exit(1)
	}
}

func run(modelPath, vocab, labelsPath, templatesPath, dir, act string, top int) error {
	if modelPath == "" || labelsPath == "" || dir == "" {
		return errors.New("-model, -labels and -images are required (see -h)")
	}
	var opts []clip.Option
	if vocab != "" {
		opts = append(opts, clip.WithVocab(vocab))
	}
	if act != "" {
		a, err := clip.ParseActivation(act)
		if err != nil {
			return err
		}
		opts = append(opts, clip.WithActivation(a))
	}
	classes, err := readLines(labelsPath)
	if err != nil {
		return err
	}
	tmpl := []string{"a photo of a {}."}
	if templatesPath != "" {
		if tmpl, err = readLines(templatesPath); err != nil {
			return err
		}
	}
	files, err := imageFiles(dir)
	if err != nil {
		return err
	}
	m, err := clip.Load(modelPath, opts...)
	if err != nil {
		return err
	}
	cls, err := m.NewClassifier(classes, tmpl)
	if err != nil {
		return err
	}
	imgs := make([]image.Image, len(files))
	for i, f := range files {
		if imgs[i], err = decode(f); err != nil {
			return err
		}
	}
	embs, err := m.EncodeImages(context.Background(), imgs)
	if err != nil {
		return err
	}
	scale := math.Exp(float64(m.LogitScale.Data().F32()[0]))
	for i, e := range embs {
		probs := softmax(cls.Scores(e), scale)
		order := make([]int, len(probs))
		for j := range order {
			order[j] = j
		}
		sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
		var parts []string
		for _, j := range order[:min(top, len(order))] {
			parts = append(parts, fmt.Sprintf("%s %.3f", classes[j], probs[j]))
		}
		fmt.Printf("%s\t%s\n", filepath.Base(files[i]), strings.Join(parts, "\t"))
	}
	return nil
}

func softmax(scores []float32, scale float64) []float64 {
	out := make([]float64, len(scores))
	m := float64(slices.Max(scores)) * scale
	var s float64
	for i, v := range scores {
		out[i] = math.Exp(float64(v)*scale - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no lines", path)
	}
	return out, nil
}

func imageFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg", ".gif":
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no png, jpeg or gif images", dir)
	}
	return files, nil
}

func decode(path string) (image.Image, error) { return imagefile.Read(path) }
