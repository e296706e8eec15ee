package adversarial

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for FolderGenerator
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/neuronlens/neuronlens/internal/shapes"

	"github.com/neuronlens/neuronlens/internal/imagefile"
)

// Generator turns a description into images.
type Generator interface {
	// Generate returns up to n images of description; seed makes the
	// choice deterministic. Fewer than n is not an error; none is.
	Generate(ctx context.Context, description string, n int, seed uint64) ([]image.Image, error)
}

// ShapesGenerator renders the shapes world: each image is
// shapes.Render(shapes.Parse(description, seed+i)), Size×Size pixels
// (0 means [shapes.DefaultSize]). Words the world does not know are ignored,
// so description "a large blue moon in the sky with a telescope" draws a
// large blue moon on the sky background. It never fails on text.
type ShapesGenerator struct {
	Size int
}

// Generate renders n layouts of the parsed description.
func (g ShapesGenerator) Generate(ctx context.Context, description string, n int, seed uint64) ([]image.Image, error) {
	s := g.Size
	if s <= 0 {
		s = shapes.DefaultSize
	}
	out := make([]image.Image, 0, max(n, 0))
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sc, _ := shapes.Parse(description, seed+uint64(i))
		out = append(out, shapes.Render(sc, s, s).Image)
	}
	return out, nil
}

// Ignored returns the words of description that the shapes world ignores.
func (ShapesGenerator) Ignored(description string) []string {
	_, ig := shapes.Parse(description, 0)
	return ig
}

// FolderGenerator reads images that someone made with any text-to-image
// model: Dir holds index.csv, with a header "description,file" and one row
// per image, file relative to Dir (PNG or JPEG). Generate returns the first
// n images listed for the description, in file order, whatever the seed.
// [WritePrompts] writes the descriptions to render.
type FolderGenerator struct {
	Dir   string
	index map[string][]string
}

// ErrNoImages is returned, wrapped, when a folder has no image for a
// description.
var ErrNoImages = errors.New("adversarial: no images for the description")

// OpenFolder reads dir/index.csv. Errors name the file and the line: a
// missing file, a header other than description,file, a row of another
// width, an empty description or file, a file outside dir.
func OpenFolder(dir string) (*FolderGenerator, error) {
	path := filepath.Join(dir, "index.csv")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("adversarial: %s: %w", path, err)
	}
	if strings.TrimPrefix(head[0], "\ufeff") != "description" || head[1] != "file" {
		return nil, fmt.Errorf("adversarial: %s: header %q, want description,file", path, strings.Join(head, ","))
	}
	g := &FolderGenerator{Dir: dir, index: map[string][]string{}}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("adversarial: %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		desc, file := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if desc == "" || file == "" {
			return nil, fmt.Errorf("adversarial: %s:%d: empty description or file", path, line)
		}
		if !filepath.IsLocal(filepath.FromSlash(file)) {
			return nil, fmt.Errorf("adversarial: %s:%d: file %q is outside the folder", path, line, file)
		}
		g.index[desc] = append(g.index[desc], file)
	}
	return g, nil
}

// Generate loads the description's images. Errors: no image listed
// ([ErrNoImages]), an unreadable or undecodable file (named).
func (g *FolderGenerator) Generate(ctx context.Context, description string, n int, _ uint64) ([]image.Image, error) {
	files := g.index[strings.TrimSpace(description)]
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: %q in %s", ErrNoImages, description, g.Dir)
	}
	var out []image.Image
	for _, f := range files[:min(n, len(files))] {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := readImage(filepath.Join(g.Dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

func readImage(path string) (image.Image, error) {
	img, err := imagefile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	return img, nil
}

// WriteFolder renders n images of each description with gen (seed i for
// the i-th description) into dir as PNG files and writes dir/index.csv in
// the layout [OpenFolder] reads: the folder an outside text-to-image model
// would make for [WritePrompts]'s list, made by any [Generator]. Errors:
// the generator's, a failed write (named).
func WriteFolder(ctx context.Context, dir string, gen Generator, descriptions []string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("adversarial: %w", err)
	}
	var index bytes.Buffer
	cw := csv.NewWriter(&index)
	cw.Write([]string{"description", "file"})
	for i, d := range descriptions {
		imgs, err := gen.Generate(ctx, d, n, uint64(i))
		if err != nil {
			return err
		}
		for k, img := range imgs {
			name := fmt.Sprintf("%04d_%d.png", i, k)
			if err := writePNG(filepath.Join(dir, name), img); err != nil {
				return err
			}
			cw.Write([]string{d, name})
		}
	}
	cw.Flush()
	if err := os.WriteFile(filepath.Join(dir, "index.csv"), index.Bytes(), 0o644); err != nil {
		return fmt.Errorf("adversarial: %w", err)
	}
	return nil
}

// WritePrompts writes the to-do list for an external text-to-image model:
// a CSV with header "description,images,seed" and one row per description.
// Render each and list the files in index.csv for [OpenFolder].
func WritePrompts(w io.Writer, descriptions []string, images int, seed uint64) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"description", "images", "seed"})
	for i, d := range descriptions {
		cw.Write([]string{d, fmt.Sprint(images), fmt.Sprint(seed + uint64(i))})
	}
	cw.Flush()
	return cw.Error()
}
