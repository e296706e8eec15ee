#!/usr/bin/python3
"""Make the goldens for clip/preprocess_test.go.

Versions used: Python 3.11 (Debian /usr/bin/python3), Pillow 9.4.0 (Debian),
NumPy 1.24.2, torch 1.13.0a0. torchvision is not installed, so its
Resize/CenterCrop arithmetic is written out below from its documented
behaviour (torchvision.transforms.functional):

  Resize(S) on a PIL image: the short side becomes S and the long side
  int(S * long / short); then PIL Image.resize((w, h), BICUBIC).
  CenterCrop(S): top = int(round((h - S) / 2.0)), left likewise (Python round).
  ToTensor: uint8 HWC -> float32 CHW, divided by 255.
  Normalize: (x - mean) / std with float32 mean and std.

Each case converts the input to RGB with Image.convert("RGB") first, then
resizes (the order neuronlens documents), then crops and normalises.

Run from anywhere: /usr/bin/python3 make_goldens.py
It writes, beside itself:
  <case>.png or <case>_cmyk.npy      the input image
  <case>_crop.npy                    uint8 [S, S, 3] (HWC), the RGB crop
  <case>_norm.npy                    float32 [3, S, S], normalised
  manifest.json                      one entry per case
"""
import json
import os

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def resized_size(w, h, s):
    """torchvision's Resize(s) output size (w, h) for a PIL image."""
    if w <= h:
        return s, int(s * h / w)
    return int(s * w / h), s


def pipeline(rgb, s):
    w, h = rgb.size
    nw, nh = resized_size(w, h, s)
    if (nw, nh) != (w, h):
        rgb = rgb.resize((nw, nh), Image.BICUBIC)
    top = int(round((nh - s) / 2.0))
    left = int(round((nw - s) / 2.0))
    crop = rgb.crop((left, top, left + s, top + s))
    u8 = np.asarray(crop, dtype=np.uint8).copy()  # [S, S, 3]
    t = torch.from_numpy(u8).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
    mean = torch.as_tensor(MEAN, dtype=torch.float32)[:, None, None]
    std = torch.as_tensor(STD, dtype=torch.float32)[:, None, None]
    t = t.sub(mean).div(std)
    return u8, t.numpy().astype(np.float32), (nw, nh), (left, top)


def content(rng, h, w, c):
    """Smooth gradients, hard-edged saturated boxes and a noisy patch:
    ringing, clipping and rounding all get exercised, and PNG still compresses."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((h, w, c), dtype=np.float64)
    for k in range(c):
        fx, fy, ph = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 6.28)
        out[..., k] = 127.5 + 100 * np.sin(fx * xx / w * 6.28 + ph) * np.cos(fy * yy / h * 6.28)
    for _ in range(6):
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        y1, x1 = y0 + rng.integers(1, max(2, h // 3)), x0 + rng.integers(1, max(2, w // 3))
        out[y0:y1, x0:x1, :] = rng.choice([0, 255], size=c)
    ny, nx = h - h // 3, w - w // 3
    out[ny:, nx:, :] = rng.integers(0, 256, size=(h - ny, w - nx, c))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def main():
    rng = np.random.default_rng(20240611)
    cases = []

    def add(name, img, s, save):
        """img is the decoded PIL image; save writes the input file and returns its name."""
        fname = save()
        u8, norm, (nw, nh), (left, top) = pipeline(img.convert("RGB"), s)
        np.save(os.path.join(HERE, name + "_crop.npy"), u8)
        np.save(os.path.join(HERE, name + "_norm.npy"), norm)
        cases.append(dict(name=name, input=fname, mode=img.mode, width=img.size[0],
                          height=img.size[1], size=s, resized=[nw, nh], left=left, top=top,
                          crop=name + "_crop.npy", norm=name + "_norm.npy"))

    def png(name, img):
        def save():
            fname = name + ".png"
            img.save(os.path.join(HERE, fname), "PNG")
            # Round-trip, so the golden comes from exactly what Go will decode.
            assert np.array_equal(np.asarray(Image.open(os.path.join(HERE, fname))), np.asarray(img))
            return fname
        return save

    def rgb(name, w, h, s):
        img = Image.fromarray(content(rng, h, w, 3), "RGB")
        add(name, img, s, png(name, img))

    rgb("landscape", 300, 200, 48)   # downscale by 4.17
    rgb("portrait", 150, 260, 48)    # height int(48*260/150) = 83
    rgb("square", 100, 100, 40)
    rgb("upscale", 20, 13, 48)       # tiny image, scale < 1: width 73
    rgb("tie", 100, 103, 48)         # height 49: top = round(0.5) = 0 (ties to even)
    rgb("tie15", 107, 100, 48)       # width 51: left = round(1.5) = 2
    rgb("clip224", 250, 333, 224)    # height 298, top 37
    rgb("exact", 48, 60, 48)         # width already S: no horizontal pass

    gray = Image.fromarray(content(rng, 90, 120, 1)[..., 0], "L")
    add("gray", gray, 48, png("gray", gray))

    la = np.concatenate([content(rng, 110, 70, 1), rng.integers(0, 256, (110, 70, 1), dtype=np.uint8)], axis=2)
    la = Image.fromarray(la, "LA")
    add("gray_alpha", la, 40, png("gray_alpha", la))

    pal = Image.fromarray(content(rng, 120, 160, 1)[..., 0] % 200, "L").convert("P")
    pal.putpalette(rng.integers(0, 256, 200 * 3, dtype=np.uint8).tobytes())
    add("paletted", pal, 48, png("paletted", pal))

    rgba = content(rng, 170, 130, 4)
    rgba[..., 3] = rng.integers(0, 256, (170, 130), dtype=np.uint8)
    rgba[:10, :, 3] = 0  # fully transparent rows keep their colour under convert("RGB")
    rgba = Image.fromarray(rgba, "RGBA")
    add("rgba", rgba, 56, png("rgba", rgba))

    cmyk_arr = content(rng, 80, 110, 4)
    cmyk = Image.fromarray(cmyk_arr, "CMYK")

    def save_cmyk():
        fname = "cmyk_cmyk.npy"
        np.save(os.path.join(HERE, fname), cmyk_arr)  # uint8 [H, W, 4]
        return fname

    add("cmyk", cmyk, 48, save_cmyk)

    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(dict(pillow=Image.__version__, numpy=np.__version__, torch=torch.__version__,
                       mean=MEAN, std=STD, cases=cases), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
