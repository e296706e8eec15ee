#!/usr/bin/python3
"""Make the goldens for segment/*_test.go.

Versions used: Python 3.11 (Debian /usr/bin/python3), NumPy 1.24.2,
scikit-learn 1.2.1, torch 1.13.0a0, Pillow 9.4.0. torchvision is not
installed: its Resize(S) / CenterCrop(S) arithmetic on a PIL image is written
out below (short side -> S, long side int(S*long/short); crop offset
int(round((n - S) / 2.0)), Python round).

Run from anywhere: /usr/bin/python3 make_goldens.py
It writes, beside itself (all arrays little-endian, C order):

  upsample_<case>_in.npy   float32 [h, w]  patch-grid map
  upsample_<case>_out.npy  float32 [H, W]  torch.nn.functional.interpolate(
                                           mode="bilinear", align_corners=False)
  ap_<case>_scores.npy     float32 [n]     scores
  ap_<case>_labels.npy     int64 [n]       0/1 labels
  ap_<case>.npy            float64 [1]     sklearn average_precision_score
  metrics_raw.npy          float32 [I, S, S] un-normalised heatmaps
  metrics_mask.npy         int64 [I, S, S]   0/1 ground truth
  metrics_ap.npy           float64 [I]     per-image AP over both classes
  metrics_counts.npy       int64 [I, 6]    correct, labeled, inter0, inter1,
                                           union0, union1 per image
  metrics_totals.npy       float64 [3]     pixel accuracy, mIoU, mAP
  mask_<case>.png          the mask, L mode, values 0/255 (and a few others)
  mask_<case>_ref_<S>.npy  uint8 [S, S]    resize((S, S), NEAREST), no crop
  mask_<case>_aligned_<S>.npy uint8 [S, S] Resize(S, NEAREST) + CenterCrop(S)
  manifest.json            the cases and versions

The metric protocol (Chefer et al., as in the reference): the heatmap is
min-max normalised in float32; predicted foreground is score > 0.5, else
background (a constant map gives NaN, which counts as background and scores
0 for AP); pixel accuracy and per-class intersection/union are summed over
the data set, with numpy's eps in the divisions; AP is sklearn's
average_precision_score of the 2·S² scores [1-s, s] against the one-hot
labels [mask==0, mask==1]; mAP is the mean over images.
"""
import json
import os

import numpy as np
import sklearn
import torch
import torch.nn.functional as F
from PIL import Image
import PIL
from sklearn.metrics import average_precision_score

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240607)
manifest = {
    "numpy": np.__version__,
    "sklearn": sklearn.__version__,
    "torch": torch.__version__,
    "pillow": PIL.__version__,
}


def save(name, arr):
    np.save(os.path.join(HERE, name), arr)


# 1. Bilinear upsampling, align_corners=False.
ups = []
for name, (h, w), (H, W) in [
    ("7to224", (7, 7), (224, 224)),
    ("14to224", (14, 14), (224, 224)),
    ("3to10", (3, 3), (10, 10)),
    ("5x4to7x9", (5, 4), (7, 9)),
    ("4x6to13x5", (4, 6), (13, 5)),
    ("6to4", (6, 6), (4, 4)),
    ("2to3", (2, 2), (3, 3)),
    ("1to5", (1, 1), (5, 5)),
    ("7to50", (7, 7), (50, 50)),
]:
    x = rng.standard_normal((h, w)).astype(np.float32)
    y = F.interpolate(torch.from_numpy(x)[None, None], size=(H, W), mode="bilinear", align_corners=False)[0, 0].numpy()
    save(f"upsample_{name}_in.npy", x)
    save(f"upsample_{name}_out.npy", y)
    ups.append(name)
# The reference passes scale_factor=patch size instead of a size: check it agrees.
x = np.load(os.path.join(HERE, "upsample_7to224_in.npy"))
y2 = F.interpolate(torch.from_numpy(x)[None, None], scale_factor=32, mode="bilinear")[0, 0].numpy()
assert np.array_equal(y2, np.load(os.path.join(HERE, "upsample_7to224_out.npy")))
manifest["upsample"] = ups

# 2. Average precision, step-wise.
aps = []
for name, n, levels in [("small", 10, 0), ("ties", 200, 7), ("large", 5000, 0), ("allpos", 20, 0), ("quant", 1000, 50)]:
    s = rng.random(n).astype(np.float32)
    if levels:
        s = (np.floor(s * levels) / levels).astype(np.float32)
    lab = (rng.random(n) < 0.3).astype(np.int64)
    if name == "allpos":
        lab[:] = 1
    lab[0] = 1
    save(f"ap_{name}_scores.npy", s)
    save(f"ap_{name}_labels.npy", lab)
    save(f"ap_{name}.npy", np.array([average_precision_score(lab, s)], dtype=np.float64))
    aps.append(name)
manifest["ap"] = aps

# 3. Metrics over a small data set of heatmaps and masks.
S, I = 24, 5
raw = np.zeros((I, S, S), np.float32)
mask = np.zeros((I, S, S), np.int64)
yy, xx = np.mgrid[0:S, 0:S]
for i in range(I):
    cx, cy, r = rng.uniform(5, 19), rng.uniform(5, 19), rng.uniform(3, 9)
    mask[i] = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r).astype(np.int64)
    grid = rng.standard_normal((6, 6)).astype(np.float32)
    raw[i] = F.interpolate(torch.from_numpy(grid)[None, None], size=(S, S), mode="bilinear", align_corners=False)[0, 0].numpy()
    raw[i] += 2 * mask[i].astype(np.float32) * rng.uniform(0, 1.5)
raw[3] = np.float32(0.25)  # a constant map: NaN after min-max
mask[4] = 0  # an image with no foreground
counts = np.zeros((I, 6), np.int64)
ap = np.zeros(I, np.float64)
for i in range(I):
    r = raw[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        res = (r - r.min()) / (r.max() - r.min())  # float32, NaN if constant
    fg = res > np.float32(0.5)  # NaN compares False
    pred = fg.astype(np.int64)  # NaN -> background
    m = mask[i]
    correct = int(np.sum(pred == m))
    labeled = m.size
    inter = [int(np.sum((pred == 0) & (m == 0))), int(np.sum((pred == 1) & (m == 1)))]
    union = [int(np.sum((pred == 0) | (m == 0))), int(np.sum((pred == 1) | (m == 1)))]
    counts[i] = [correct, labeled, inter[0], inter[1], union[0], union[1]]
    s1 = np.nan_to_num(res, nan=0.0).astype(np.float32)
    s0 = np.nan_to_num(np.float32(1) - res, nan=0.0).astype(np.float32)
    scores = np.concatenate([s0.ravel(), s1.ravel()])
    labels = np.concatenate([(m == 0).ravel(), (m == 1).ravel()]).astype(np.int64)
    ap[i] = np.nan_to_num(average_precision_score(labels, scores))
eps = np.spacing(1, dtype=np.float64)
tot = counts.sum(axis=0)
pix = tot[0] / (eps + tot[1])
iou = np.array([tot[2], tot[3]], np.float64) / (eps + np.array([tot[4], tot[5]], np.float64))
save("metrics_raw.npy", raw)
save("metrics_mask.npy", mask)
save("metrics_ap.npy", ap)
save("metrics_counts.npy", counts)
save("metrics_totals.npy", np.array([pix, iou.mean(), ap.mean()], np.float64))


# 4. Masks: the reference protocol and the aligned one, PIL nearest.
def resized_size(w, h, s):
    if w <= h:
        return s, int(s * h / w)
    return int(s * w / h), s


masks = []
for name, (w, h) in [("wide", (37, 23)), ("tall", (20, 53)), ("square", (10, 10)), ("big", (300, 200)), ("odd", (10, 3))]:
    m = (rng.random((h, w)) < 0.4).astype(np.uint8) * 255
    m[0, 0] = 7  # any nonzero value is foreground
    Image.fromarray(m, mode="L").save(os.path.join(HERE, f"mask_{name}.png"))
    im = Image.open(os.path.join(HERE, f"mask_{name}.png"))
    sizes = []
    for S in (64, 16, 3):
        ref = np.array(im.resize((S, S), Image.NEAREST))
        nw, nh = resized_size(w, h, S)
        r = im.resize((nw, nh), Image.NEAREST)
        top, left = int(round((nh - S) / 2.0)), int(round((nw - S) / 2.0))
        al = np.array(r.crop((left, top, left + S, top + S)))
        save(f"mask_{name}_ref_{S}.npy", ref)
        save(f"mask_{name}_aligned_{S}.npy", al)
        sizes.append(S)
    masks.append({"name": name, "width": w, "height": h, "sizes": sizes})
manifest["masks"] = masks

with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
