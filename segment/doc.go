// Package segment makes zero-shot segmentation heatmaps from CLIP's
// neurons (METHOD.md §4) and from the baselines it is compared with, and
// scores them with the protocol of Chefer et al. as the reference does.
//
// # The method
//
// For an image and a class c (given, or the zero-shot prediction), the
// neurons whose second-order directions r_n ([Directions], from the lens
// statistics) have the largest |<r_n, w_c>| over several layers together
// are chosen ([SelectNeurons]); their MLP post-activations at the patch
// tokens are averaged per patch ([NeuronMap]), upsampled bilinearly to the
// input size with PyTorch's align_corners=false rule ([Upsample]), min-max
// normalized and thresholded at 0.5 ([NewHeatmap]). The paper's choice for
// ViT-B/32, 200 neurons of layers 8–10, is scaled to other towers by
// [DefaultLayers] (the three blocks before the last: L−4, L−3, L−2) and
// [DefaultNeuronCount] (200·N/3072). Beyond the paper, and labelled so,
// [Weighting] can weigh the neurons by the sign or the value of their
// coefficient.
//
// # Baselines
//
//   - [Random]: random neurons of the same layers, seeded ([RandomNeurons]).
//   - [RawAttention]: the last block's CLS attention to the patches,
//     averaged over heads ([AttentionMap]).
//   - [TextSpan]: each patch's direct contribution through the attention
//     heads to the class direction minus the mean class direction
//     ([TextSpanMap], where the formula is derived), clipped at 0 and
//     thresholded at its mean, as TextSpan's code does.
//
// [Segmenter] runs all of them from one forward pass.
//
// # Data and metrics
//
// Masks come in through [ResizeMask], with the reference protocol (the mask
// squashed to S×S while the image is resized and centre-cropped: misaligned
// on non-square images) or the aligned one. A [Source] feeds samples (image,
// mask, class); [OpenFolder] reads a user's folder of name.png +
// name_mask.png pairs. [Metrics] accumulates pixel accuracy, mIoU and mAP as
// mergeable sums.
//
// # Layout
//
// Patch-grid maps are [g, g] row-major in the model's patch order (patch
// row gy, column gx at gy*g+gx, token 1+gy*g+gx). Heatmaps and masks are
// [S, S] row-major over the preprocessed (resized, centre-cropped) image.
//
// # Errors and concurrency
//
// Data from files or users (directions, masks, folders, options) is checked
// and reported as errors naming the file or layer; slices of the wrong
// length passed in memory panic. A [Segmenter] is safe for concurrent use;
// a [Metrics] is not (give each goroutine its own and [Metrics.Merge]).
package segment
