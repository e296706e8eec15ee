package segment

import (
	"errors"
	"fmt"
	"image"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/neuronlens/neuronlens/internal/imagefile"
)

// Sample is one image with its ground truth.
type Sample struct {
	Name  string      // for messages and output files
	Image image.Image // any size; the segmenter preprocesses it
	Mask  image.Image // same size as Image; nonzero colour = foreground (see [ResizeMask])
	Class int         // class index in the classifier, or −1 to use the prediction
}

// Source is a data set of samples. [Folder] implements it, and so does
// the procedural shapes world through internal/shapeseg.
type Source interface {
	Len() int
	// Sample returns sample i, 0 ≤ i < Len(), or an error naming it.
	Sample(i int) (Sample, error)
}

// MaskSuffix ends the name of a mask file in a [Folder].
const MaskSuffix = "_mask.png"

// ErrFolder is returned, wrapped, for a folder that breaks the naming
// convention of [OpenFolder].
var ErrFolder = errors.New("segment: bad folder")

// Folder is a user's folder of images and masks, opened by [OpenFolder].
type Folder struct {
	Dir    string
	Images []string // image file names, sorted; the mask of "x.jpg" is "x_mask.png"
}

var imageExts = []string{".jpg", ".jpeg", ".png", ".gif"}

// OpenFolder lists a folder of image and mask pairs. The convention: every
// image name.jpg, name.jpeg, name.png or name.gif (any case) has a mask
// name_mask.png of the same size beside it, whose nonzero pixels mark the
// foreground; files with other extensions are ignored. OpenFolder reads
// every header and returns an error wrapping [ErrFolder], naming the file,
// for an image without its mask, a mask without its image, two images with
// one name, a size mismatch, or an empty folder; and the decoder's error,
// naming the file, for a file it cannot read.
func OpenFolder(dir string) (*Folder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	f := &Folder{Dir: dir}
	masks := map[string]bool{}
	stems := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		if stem, ok := strings.CutSuffix(name, MaskSuffix); ok {
			masks[stem] = true
			continue
		}
		ext := filepath.Ext(name)
		if !slices.Contains(imageExts, strings.ToLower(ext)) {
			continue
		}
		stem := strings.TrimSuffix(name, ext)
		if other, dup := stems[stem]; dup {
			return nil, fmt.Errorf("%w: %s and %s share the mask %s", ErrFolder, filepath.Join(dir, other), filepath.Join(dir, name), stem+MaskSuffix)
		}
		stems[stem] = name
		f.Images = append(f.Images, name)
	}
	slices.Sort(f.Images)
	for _, name := range f.Images {
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		if !masks[stem] {
			return nil, fmt.Errorf("%w: %s has no mask %s", ErrFolder, filepath.Join(dir, name), filepath.Join(dir, stem+MaskSuffix))
		}
		iw, ih, err := decodeSize(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		mp := filepath.Join(dir, stem+MaskSuffix)
		mw, mh, err := decodeSize(mp)
		if err != nil {
			return nil, err
		}
		if iw != mw || ih != mh {
			return nil, fmt.Errorf("%w: mask %s is %d×%d, its image %s is %d×%d", ErrFolder, mp, mw, mh, name, iw, ih)
		}
	}
	for _, stem := range slices.Sorted(maps.Keys(masks)) {
		if _, ok := stems[stem]; !ok {
			return nil, fmt.Errorf("%w: mask %s has no image %s.{jpg,jpeg,png,gif}", ErrFolder, filepath.Join(dir, stem+MaskSuffix), stem)
		}
	}
	if len(f.Images) == 0 {
		return nil, fmt.Errorf("%w: %s has no images (jpg, jpeg, png, gif)", ErrFolder, dir)
	}
	return f, nil
}

// Len returns the number of images.
func (f *Folder) Len() int { return len(f.Images) }

// Sample decodes image i and its mask; Class is −1 (use the prediction).
func (f *Folder) Sample(i int) (Sample, error) {
	name := f.Images[i]
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	img, err := decode(filepath.Join(f.Dir, name))
	if err != nil {
		return Sample{}, err
	}
	mp := filepath.Join(f.Dir, stem+MaskSuffix)
	mask, err := decode(mp)
	if err != nil {
		return Sample{}, err
	}
	if img.Bounds().Size() != mask.Bounds().Size() {
		return Sample{}, fmt.Errorf("%w: mask %s is %v, its image %s is %v", ErrFolder, mp, mask.Bounds().Size(), name, img.Bounds().Size())
	}
	return Sample{Name: stem, Image: img, Mask: mask, Class: -1}, nil
}

func decodeSize(path string) (w, h int, err error) {
	if w, h, err = imagefile.Size(path); err != nil {
		return 0, 0, fmt.Errorf("segment: %w", err)
	}
	return w, h, nil
}

func decode(path string) (image.Image, error) {
	img, err := imagefile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("segment: %w", err)
	}
	return img, nil
}
