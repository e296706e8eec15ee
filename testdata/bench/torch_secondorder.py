#!/usr/bin/env python3
"""PyTorch baseline for lens.Analyze: the reference's second-order computation.

For one MLP layer l of a CLIP image tower, this runs the forward pass keeping
what the reference implementation's hooks keep (the post-GELU activations of
block l; every block's ln_1 means, standard deviations and attention
patterns; ln_post's statistics at the CLS token) and then computes the
second-order effect of every neuron of layer l the way the reference does
(METHOD.md section 1, steps 1-5): each neuron's output as a [B, T, N, D]
tensor, ln_1 of every later block l' applied per neuron, then for every head
h its values, its attention (all queries), its output projection, and at the
CLS token ln_post and proj; summed over (l', h) and scaled by 100/||f||.
Unlike the reference, nothing goes back and forth to host memory between the
steps, so on the same GPU this is, if anything, faster than the reference.

  --export DIR   the folder lens's TestExportSecondOrderForTorch wrote
                 (NEURONLENS_EXPORT=X go test ./lens -run ExportSecondOrder
                 writes X/secondorder): checks the effects of the first
                 --neurons neurons of both images against Go's
                 SecondOrderPixels, max |dphi_n| / ||phi_n||;
  --bench        times a random ViT-B/32, layer 9, every neuron, at each of
                 --batches, pixels copied from host memory and the effects
                 [B, N, d] copied back (as the reference saves them), in
                 images/s;
  --go-bench F   reads `go test -bench AnalyzeCUDA` output and prints
                 Analyze's phase-1 rate (effects-images/s) over this one.

Runs on the GPU when there is one, else on the CPU (--export is quick there
with a few neurons; --bench is for the GPU). TF32 is off.
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import SIZES, build  # noqa: E402


def traced(torch, m, pix, layer, H):
    """The forward pass of m on pix, with the traces the reference logs."""
    F = torch.nn.functional
    B = pix.shape[0]
    x = m.conv1(pix)
    D = x.shape[1]
    x = x.reshape(B, D, -1).permute(0, 2, 1)
    x = torch.cat([m.class_embedding.expand(B, 1, -1), x], dim=1) + m.positional_embedding
    x = m.ln_pre(x)
    T, dh = x.shape[1], D // H
    mu1, sig1, attn, post = [], [], [], None

    def stats(y):
        mu = y.mean(-1)
        return mu, torch.sqrt(((y - mu[..., None]) ** 2).mean(-1) + 1e-5)

    for i, blk in enumerate(m.transformer.resblocks):
        mu, sig = stats(x)
        mu1.append(mu)
        sig1.append(sig)
        h = (x - mu[..., None]) / sig[..., None] * blk.ln_1.weight + blk.ln_1.bias
        qkv = F.linear(h, blk.attn.in_proj_weight, blk.attn.in_proj_bias)
        q, k, v = (t.reshape(B, T, H, dh).transpose(1, 2) for t in qkv.split(D, dim=-1))
        a = torch.softmax(q @ k.transpose(-1, -2) / dh ** 0.5, dim=-1)  # [B, H, T, T]
        attn.append(a)
        z = (a @ v).transpose(1, 2).reshape(B, T, D)
        x = x + F.linear(z, blk.attn.out_proj.weight, blk.attn.out_proj.bias)
        hid = blk.mlp.c_fc(blk.ln_2(x))
        p = hid * torch.sigmoid(1.702 * hid)  # QuickGELU
        if i == layer:
            post = p
        x = x + blk.mlp.c_proj(p)
    mu_post, sig_post = stats(x[:, 0])
    f = m.ln_post(x[:, 0]) @ m.proj
    return dict(f=f, post=post, mu1=mu1, sig1=sig1, attn=attn, mu_post=mu_post, sig_post=sig_post)


def literal(torch, m, tr, layer, neurons, H):
    """The reference's effects [B, len(neurons), d] of the given neurons."""
    blocks = m.transformer.resblocks
    L = len(blocks)
    N = blocks[layer].mlp.c_proj.weight.shape[1]  # every neuron counts in the normalizers
    D = blocks[layer].mlp.c_proj.weight.shape[0]
    dh = D // H
    post = tr["post"][:, :, neurons]  # [B, T, n]
    w = blocks[layer].mlp.c_proj.weight[:, neurons].T  # [n, D]
    # Step 1: each neuron's output, with an equal share of c_proj's bias.
    c = post[..., None] * w + blocks[layer].mlp.c_proj.bias / N  # [B, T, n, D]
    out = 0
    for lp in range(layer + 1, L):
        blk = blocks[lp]
        K1 = (1 + 2 * lp) * N
        # Step 2: ln_1 of block l', its statistics frozen, per neuron.
        mu = tr["mu1"][lp][:, :, None, None]
        sig = tr["sig1"][lp][:, :, None, None]
        x = blk.ln_1.weight * (c - mu / K1) / sig + blk.ln_1.bias / K1
        Wv, bv = blk.attn.in_proj_weight[2 * D:], blk.attn.in_proj_bias[2 * D:]
        Wo, bo = blk.attn.out_proj.weight, blk.attn.out_proj.bias
        K2 = (1 + 2 * lp) * (1 + 2 * L) * H * N
        for h in range(H):
            s = slice(h * dh, (h + 1) * dh)
            # Step 3: the head's values, its attention (every query, as the
            # reference), its share of the output projection.
            v = x @ Wv[s].T + bv[s] / K1  # [B, T, n, dh]
            z = torch.einsum("bqt,btnc->bqnc", tr["attn"][lp][:, h], v)
            o = z @ Wo[:, s].T + bo / (K1 * H)  # [B, T, n, D]
            # Step 4: the CLS token through ln_post (frozen) and proj.
            y = m.ln_post.weight * (o[:, 0] - tr["mu_post"][:, None, None] / K2) \
                / tr["sig_post"][:, None, None] + m.ln_post.bias / K2
            out = out + y @ m.proj  # [B, n, d]
    # Step 5: the paper's scale.
    return out * 100 / tr["f"].norm(dim=-1)[:, None, None]


def load(torch, np, d, dev):
    m = build(torch, **SIZES["B32"])
    sd = {k: torch.from_numpy(np.load(os.path.join(d, "visual." + k + ".npy"))) for k in m.state_dict()}
    m.load_state_dict(sd)
    return m.to(dev).eval()


def check(torch, np, d, dev, count):
    m = load(torch, np, d, dev)
    layer = int(np.load(os.path.join(d, "layer.npy"))[0])
    pix = torch.from_numpy(np.load(os.path.join(d, "pixels.npy"))).to(dev)
    want = np.load(os.path.join(d, "effects.npy")).astype(np.float64)  # [B, N, d]
    emb = np.load(os.path.join(d, "emb.npy")).astype(np.float64)
    neurons = list(range(min(count, want.shape[1])))
    with torch.inference_mode():
        tr = traced(torch, m, pix, layer, SIZES["B32"]["H"])
        got = literal(torch, m, tr, layer, neurons, SIZES["B32"]["H"]).double().cpu().numpy()
        f = tr["f"].double().cpu().numpy()
    relf = max(np.abs(f[b] - emb[b]).max() / np.linalg.norm(emb[b]) for b in range(len(emb)))
    rel = 0.0
    for b in range(want.shape[0]):
        for i, n in enumerate(neurons):
            rel = max(rel, np.abs(got[b, i] - want[b, n]).max() / np.linalg.norm(want[b, n]))
    print(f"torch ({dev}) vs Go: embeddings max |df|/||f|| = {relf:.2e}; layer {layer} second-order effects "
          f"of {len(neurons)} neurons x {want.shape[0]} images, max |dphi_n|/||phi_n|| = {rel:.2e} (bar 1e-4)",
          flush=True)
    return rel <= 1e-4 and relf <= 1e-4


def bench(torch, batches, seconds, layer=9):
    cfg = SIZES["B32"]
    m = build(torch, **cfg).cuda().eval()
    neurons = list(range(cfg["N"]))
    res = {}
    for B in batches:
        x_host = torch.randn(B, 3, 224, 224)

        def run():
            tr = traced(torch, m, x_host.cuda(), layer, cfg["H"])
            return literal(torch, m, tr, layer, neurons, cfg["H"]).cpu()

        with torch.inference_mode():
            run()
            torch.cuda.synchronize()
            n, t0 = 0, time.perf_counter()
            while n < 2 or time.perf_counter() - t0 < seconds:
                run()
                n += 1
            torch.cuda.synchronize()
            ips = n * B / (time.perf_counter() - t0)
        res[B] = ips
        print(f"torch reference-style second order, B32 layer {layer}, batch {B}: {ips:.2f} images/s", flush=True)
        torch.cuda.empty_cache()
    return res


def report(path, res):
    ours = {}
    for line in open(path):
        mm = re.match(r"BenchmarkAnalyzeCUDA/(\S+?)(-\d+)?\s+\d+\s+(.*)", line)
        if mm:
            for val, unit in re.findall(r"([\d.]+) (\S+)", mm.group(3)):
                ours[(mm.group(1), unit)] = float(val)
    eff = ours.get(("B32/layer9/analyze", "effects-images/s"))
    if not eff or not res:
        print(f"no Analyze rate in {path}")
        return
    best = max(res.values())
    print(f"Analyze phase 1 (ours, {path}): {eff:.1f} images/s; the reference's computation in PyTorch: "
          f"{best:.2f} images/s (best batch): {eff / best:.0f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", help="folder written by lens's TestExportSecondOrderForTorch")
    ap.add_argument("--neurons", type=int, default=64, help="neurons to check with --export")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--go-bench", help="go test -bench AnalyzeCUDA output to compare with")
    a = ap.parse_args()
    import numpy as np
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0) if dev == 'cuda' else 'no GPU'}", flush=True)
    ok = True
    if a.export:
        ok = check(torch, np, a.export, dev, a.neurons)
    res = {}
    if a.bench:
        if dev != "cuda":
            print("--bench needs a GPU")
            return 2
        res = bench(torch, [int(b) for b in a.batches.split(",")], a.seconds)
    if a.go_bench:
        report(a.go_bench, res)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
