#!/usr/bin/env python3
"""PyTorch CPU baseline for clip's throughput benchmarks (issue 3 bars).

A random ViT-B/32 (both towers, OpenAI shapes) built with the model math of
testdata/clip/model/reference.py (random_state_dict, layer_norm's formula,
activation), run batched: images [B, 3, 224, 224] through the image tower,
token sequences [B, 77] through the text tower over the full context, as
CLIP does. Eager float32, torch.no_grad(), torch.set_num_threads(THREADS).

Prints one line per measurement, with wall and process CPU time (user +
system, all threads), so that runs on a shared machine can be compared per
CPU second:

  torch image batch=1 n=.. wall_s=.. cpu_s=.. per_s=.. per_cpu_s=..

Before timing it checks the batched towers against reference.py's
one-sequence ones on the first image and text (max |Δ|/‖f‖ printed).

Usage: /usr/bin/python3 testdata/bench/bench_clip_torch.py [--threads 2]
       [--image-iters 6] [--batch-iters 3] [--texts 128]
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "clip", "model"))
import reference  # noqa: E402

VISION = dict(width=768, patch=32, image=224, layers=12, mlp=3072)
TEXT = dict(width=512, vocab=49408, context=77, layers=12, mlp=2048)
EMBED, VHEADS, THEADS, ACT = 512, 12, 8, "quick_gelu"


def block(sd, pre, x, heads, causal):
    """One pre-LN block on x [B, T, D], batched."""
    B, T, D = x.shape
    dh = D // heads
    h = F.layer_norm(x, (D,), sd[pre + "ln_1.weight"], sd[pre + "ln_1.bias"], 1e-5)
    qkv = F.linear(h, sd[pre + "attn.in_proj_weight"], sd[pre + "attn.in_proj_bias"])
    q, k, v = (t.reshape(B, T, heads, dh).transpose(1, 2) for t in qkv.split(D, -1))  # [B, H, T, dh]
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)  # [B, H, T, T]
    if causal:
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, float("-inf"))
    z = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, T, D)
    x = x + F.linear(z, sd[pre + "attn.out_proj.weight"], sd[pre + "attn.out_proj.bias"])
    h = F.layer_norm(x, (D,), sd[pre + "ln_2.weight"], sd[pre + "ln_2.bias"], 1e-5)
    h = reference.activation(ACT, F.linear(h, sd[pre + "mlp.c_fc.weight"], sd[pre + "mlp.c_fc.bias"]))
    return x + F.linear(h, sd[pre + "mlp.c_proj.weight"], sd[pre + "mlp.c_proj.bias"])


def encode_images(sd, pixels):
    """pixels [B, 3, S, S] → embeddings [B, d]."""
    w = sd["visual.conv1.weight"]
    D, p = w.shape[0], w.shape[-1]
    x = F.conv2d(pixels, w, stride=p).flatten(2).transpose(1, 2)  # [B, P, D]
    cls = sd["visual.class_embedding"].expand(x.shape[0], 1, D)
    x = torch.cat([cls, x], 1) + sd["visual.positional_embedding"]
    x = F.layer_norm(x, (D,), sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"], 1e-5)
    for l in range(VISION["layers"]):
        x = block(sd, f"visual.transformer.resblocks.{l}.", x, VHEADS, False)
    y = F.layer_norm(x[:, 0], (D,), sd["visual.ln_post.weight"], sd["visual.ln_post.bias"], 1e-5)
    return y @ sd["visual.proj"]


def encode_texts(sd, ids):
    """ids [B, C] (SOT … EOT, zero padded), full context → embeddings [B, d]."""
    W = TEXT["width"]
    x = sd["token_embedding.weight"][ids] + sd["positional_embedding"]
    for l in range(TEXT["layers"]):
        x = block(sd, f"transformer.resblocks.{l}.", x, THEADS, True)
    x = x[torch.arange(ids.shape[0]), ids.argmax(-1)]
    return F.layer_norm(x, (W,), sd["ln_final.weight"], sd["ln_final.bias"], 1e-5) @ sd["text_projection"]


def timed(label, n_items, iters, f):
    f()  # warm up
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(iters):
        f()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    n = n_items * iters
    print(f"torch {label} n={n} wall_s={wall:.3f} cpu_s={cpu:.3f} per_s={n / wall:.3f} per_cpu_s={n / cpu:.3f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--image-iters", type=int, default=6)
    ap.add_argument("--batch-iters", type=int, default=3)
    ap.add_argument("--texts", type=int, default=128, help="full-context texts to time, in batches of 64")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(1)
    sd = reference.random_state_dict(gen, VISION, TEXT, EMBED)
    px = torch.randn(16, 3, 224, 224, generator=gen)
    ids = torch.zeros(64, 77, dtype=torch.long)
    ids[:, 0], ids[:, 1:76] = 49406, torch.randint(300, 40000, (64, 75), generator=gen)
    ids[:, 76] = 49407
    with torch.no_grad():
        want, _ = reference.encode_image(sd, px[0], VHEADS, ACT)
        got = encode_images(sd, px[:2])[0]
        print(f"check image: max|Δ|/‖f‖ = {float((got - want).abs().max() / want.norm()):.2e}")
        want, _ = reference.encode_tokens(sd, ids[0], THEADS, ACT)
        got = encode_texts(sd, ids[:2])[0]
        print(f"check text: max|Δ|/‖f‖ = {float((got - want).abs().max() / want.norm()):.2e}")
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
        timed("image batch=1", 1, a.image_iters, lambda: encode_images(sd, px[:1]))
        timed("image batch=16", 16, a.batch_iters, lambda: encode_images(sd, px))
        timed("text full-context batch=64", 64, max(1, a.texts // 64), lambda: encode_texts(sd, ids))


if __name__ == "__main__":
    main()
