package lens

import (
	"fmt"
	"image"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/neuronlens/neuronlens/internal/imagefile"
)

// Source is an indexed set of images. Image must be safe for concurrent use
// and return the same image for the same index every time (a resumed
// [Analyze] relies on it).
type Source interface {
	// Len is the number of images.
	Len() int
	// Image returns image i (0 ≤ i < Len) and its id, a short name that
	// results report (a path, a number).
	Image(i int) (id string, img image.Image, err error)
}

// imageExts are the file name endings Folder picks up, lower case.
var imageExts = []string{".jpg", ".jpeg", ".png", ".gif"}

// Folder returns the images under dir (recursively: .jpg, .jpeg, .png,
// .gif, any case), in lexical order of their paths; ids are the paths
// relative to dir, with forward slashes. It is an error if dir cannot be
// read or holds no image.
func Folder(dir string) (Source, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && slices.Contains(imageExts, strings.ToLower(filepath.Ext(p))) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lens: folder %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("lens: folder %s holds no .jpg, .jpeg, .png or .gif image", dir)
	}
	slices.Sort(paths)
	ids := make([]string, len(paths))
	for i, p := range paths {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			rel = p
		}
		ids[i] = filepath.ToSlash(rel)
	}
	return &files{paths: paths, ids: ids}, nil
}

// Files returns the images at the given paths, in that order; ids are the
// paths as given. Files are opened only when asked for.
func Files(paths ...string) Source {
	p := slices.Clone(paths)
	return &files{paths: p, ids: p}
}

type files struct{ paths, ids []string }

func (s *files) Len() int { return len(s.paths) }

func (s *files) Image(i int) (string, image.Image, error) {
	img, err := imagefile.Read(s.paths[i])
	if err != nil {
		return s.ids[i], nil, fmt.Errorf("lens: %w", err)
	}
	return s.ids[i], img, nil
}

// Generator returns a source of n images made by gen, with ids "0", "1", …;
// gen must be deterministic and safe for concurrent use.
func Generator(n int, gen func(i int) (image.Image, error)) Source {
	return &generator{n: n, gen: gen}
}

type generator struct {
	n   int
	gen func(int) (image.Image, error)
}

func (g *generator) Len() int { return g.n }

func (g *generator) Image(i int) (string, image.Image, error) {
	img, err := g.gen(i)
	return strconv.Itoa(i), img, err
}

// ID returns the id of image i without opening it.
func (s *files) ID(i int) string { return s.ids[i] }

// ID returns the id of image i without making it.
func (g *generator) ID(i int) string { return strconv.Itoa(i) }

// idOf returns the id of image i, cheaply when src can say it without
// decoding the image.
func idOf(src Source, i int) (string, error) {
	if s, ok := src.(interface{ ID(int) string }); ok {
		return s.ID(i), nil
	}
	id, _, err := src.Image(i)
	return id, err
}
