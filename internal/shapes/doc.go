// Package shapes is neuronlens's procedural world: small images of flat
// coloured shapes on textured backgrounds, with captions and exact ground
// truth. neuronlens trains its own small CLIP on it (64×64 images, 8×8
// patches), and the world's known answers then check the method: masks are
// the ground truth of zero-shot segmentation (METHOD.md §4), the deliberate
// spurious correlations below are what semantic adversarial examples should
// find (§5), and concepts let a test check that a neuron's description names
// the right one.
//
// # Classes
//
// The NumShapes shapes are the classes of zero-shot classification, in this
// order ([ClassNames]): circle, square, triangle, diamond, star, cross, heart,
// ring, moon. A sample's class is the shape of its main objects, which are
// unambiguous: either they are large and every other object is small, or they
// are small, two or three of them, and there is at most one other object. The
// main objects come first in [Scene.Objects] and in the caption. Prompts for
// the zero-shot classifier come from [Templates] and [Prompts].
//
// # What a sample holds
//
// Objects have a [Shape], a [Colour] (red, green, blue, yellow, purple,
// orange, white, black: flat, saturated fills) and a [Size] (large: bounding
// radius 11 pixels at 64×64; small: 6), and sit at a position given as a
// fraction of the image. The [Background] is one of eight textures: plain
// grey, stripes (four directions), dots, grass, water waves, a sky gradient,
// a checkerboard and sand. A [Sample] has the [Scene], its class, caption,
// concepts, image, one mask per object and the foreground mask.
//
// The distribution of [Dataset] and [HeldOut], per sample:
//
//   - class: uniform; each block of NumShapes consecutive indices holds
//     every class once, in random order, so any set is class-balanced;
//   - main objects: large with probability 3/4, then one, two or three of
//     them (60/25/15%); small otherwise, then two or three (60/40%); one
//     colour for the group, uniform;
//   - other objects: small, of any shape but the class, colour uniform: 0, 1
//     or 2 of them (40/40/20%) next to large main objects, 0 or 1 (50/50%)
//     next to small ones;
//   - background: uniform;
//   - layout: random, each object wholly inside the image and bounding
//     circles at least 2 pixels apart (at 64×64), as in [Scene.Layout];
//
// except where a correlation overrides them.
//
// # Spurious correlations
//
// Seven classes are tied to a concept that is not their shape ([Correlations]):
//
//	class     concept          P(concept | class)  P(concept | other classes), about
//	star      sky              0.85                0.10  (background)
//	ring      water            0.80                0.10  (background)
//	heart     red              0.85                0.20  (colour of the main objects)
//	triangle  yellow circle    0.80                0.03  (a small yellow circle beside it)
//	square    three            0.70                0.21  (three main objects)
//	diamond   striped          0.75                0.10  (background)
//	cross     white            0.75                0.18  (colour of the main objects)
//
// Circle and moon have none and serve as controls. When a sample of a
// correlated class does not draw the concept, the concept is absent from the
// whole image (no red distractor next to a blue heart), so P(concept | class)
// is exactly the strength. The coin is drawn from a low-discrepancy sequence
// per class, so the measured share over n samples of a class is within a few
// 1/n of the strength, not only on average. A model trained on the world
// should learn these ties; an adversarial example for the class pair (A, B)
// draws B with A's concept: a square in the sky to pass for a star, a moon
// beside a small yellow circle to pass for a triangle.
//
// # Images and masks
//
// Images are *image.RGBA, 64×64 by default ([WithSize]), opaque. Pixel (x, y)
// covers [x, x+1) × [y, y+1) and its centre is (x+0.5, y+0.5). A mask is a
// []bool of length W·H, row-major: pixel (x, y) is mask[y*W+x]
// ([MaskImage] turns one into an *image.Gray). A pixel belongs to an object
// when its centre lies inside the shape and no later object's shape holds that
// centre, so the masks are exact and disjoint, and every mask pixel has exactly
// its object's colour ([Colour.RGBA]). Edges are anti-aliased outwards only:
// pixels just outside a shape are blended with its colour by their 4×4
// sub-sample coverage. Sample.Foreground is the union of the masks of the
// objects of the sample's class.
//
// # Captions, concepts and words
//
// A caption names every object group with count, size, colour and shape, then
// the background ([Scene.Caption]):
//
//	two large red triangles and a small yellow circle on water
//
// A sample's concepts ([Scene.Concepts]) are the background word and, for each
// group, its shape, colour, size and count words and its "colour shape" pair.
// [Words] lists the world's concept words and [Phrases] a text pool for
// decomposing neurons: every word, plural, background phrase ("on water",
// "striped background") and two-word phrase ("red star", "small star", "two
// stars").
//
// # Text to image
//
// [Parse] reads a simple description into a Scene, ignoring and reporting
// unknown words and laying out objects from a seed; [Render] draws any Scene.
// Together they are the default text-to-image generator of the adversarial
// examples. Captions parse back to the same groups and background.
//
// # Determinism
//
// A (seed, index, size) triple gives the same bytes on every machine: the
// geometry and the textures use integer arithmetic only (no float rounding, no
// fused multiply-add, no trigonometry), randomness comes from math/rand/v2's
// PCG-DXSM stream through the package's own bounded-integer helpers, each part
// of a sample (class, scene, layout, texture) has its own stream keyed by seed
// and index, and no map is iterated while generating. Each sample is
// independent of the others, so [Source.At] can render any index alone. The
// tests pin SHA-256 hashes of whole sources, checked under GOARCH=386 and
// GOAMD64=v3 (FMA) as well.
//
// # Splits and streaming
//
// [Dataset](seed, n) is indices 0 to n-1 of the seed's sequence; [HeldOut]
// starts at index [HeldOutStart], so the two never overlap. A [Source] holds
// no images: At(i) renders sample i on demand (s.At is the stream as a
// func(int) Sample), SceneAt(i) draws the scene alone, Slice shards.
//
// # Errors, panics and concurrency
//
// Nothing here reads files. Parse accepts any text. Programmer mistakes panic
// with a "shapes:" message: an index out of range, a non-positive size, a
// scene with an invalid enum value passed to Render (check user scenes with
// [Scene.Validate]). Sources are values and all functions are safe for
// concurrent use; a Rendering and a Sample are owned by the caller.
package shapes
