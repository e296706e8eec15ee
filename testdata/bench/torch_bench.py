#!/usr/bin/env python3
"""PyTorch baseline for clip/cuda: eager float32 CLIP image towers on the GPU.

Builds the OpenAI CLIP ViT image tower (the open_clip layout: pre-LN blocks,
nn.MultiheadAttention with batch_first, QuickGELU) in plain PyTorch, and

  --export DIR   loads the random ViT-B/32 written by the Go test
                 TestExportForTorch and compares its embeddings with the Go
                 CPU and GPU ones (max |diff| / ||f||);
  --bench        times EncodeImage for B/32, B/16, L/14 at batch 1 and 64, in
                 images/s, with the input already on the GPU and with it
                 copied from host memory each time (as the Go benchmark does);
  --go-bench F   reads `go test -bench` output and prints ours vs PyTorch
                 (several files, comma-separated: a table each).

TF32 is off (torch.backends.*.allow_tf32 = False): float32 against float32.
"""
import argparse
import json
import os
import re
import sys
import time
from collections import OrderedDict

SIZES = {
    "B32": dict(S=224, p=32, D=768, L=12, H=12, N=3072, d=512),
    "B16": dict(S=224, p=16, D=768, L=12, H=12, N=3072, d=512),
    "L14": dict(S=224, p=14, D=1024, L=24, H=16, N=4096, d=768),
}


def build(torch, S, p, D, L, H, N, d):
    nn = torch.nn

    class QuickGELU(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(1.702 * x)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(D)
            self.attn = nn.MultiheadAttention(D, H, batch_first=True)
            self.ln_2 = nn.LayerNorm(D)
            self.mlp = nn.Sequential(OrderedDict(
                c_fc=nn.Linear(D, N), gelu=QuickGELU(), c_proj=nn.Linear(N, D)))

        def forward(self, x):
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.resblocks = nn.ModuleList([Block() for _ in range(L)])

    class Visual(nn.Module):
        def __init__(self):
            super().__init__()
            g = S // p
            self.conv1 = nn.Conv2d(3, D, p, p, bias=False)
            self.class_embedding = nn.Parameter(torch.randn(D) * D ** -0.5)
            self.positional_embedding = nn.Parameter(torch.randn(g * g + 1, D) * D ** -0.5)
            self.ln_pre = nn.LayerNorm(D)
            self.transformer = Transformer()
            self.ln_post = nn.LayerNorm(D)
            self.proj = nn.Parameter(torch.randn(D, d) * D ** -0.5)

        def forward(self, x):
            x = self.conv1(x)                                  # [B, D, g, g]
            x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # [B, g², D]
            cls = self.class_embedding.expand(x.shape[0], 1, -1)
            x = torch.cat([cls, x], dim=1) + self.positional_embedding
            x = self.ln_pre(x)
            for b in self.transformer.resblocks:
                x = b(x)
            return self.ln_post(x[:, 0]) @ self.proj           # [B, d]

    return Visual()


def compare(torch, np, d):
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    m = build(torch, **SIZES["B32"])
    sd = {}
    for k in m.state_dict():
        sd[k] = torch.from_numpy(np.load(os.path.join(d, "visual." + k + ".npy")))
    m.load_state_dict(sd)
    m = m.to(dev).eval()
    pix = torch.from_numpy(np.load(os.path.join(d, "pixels.npy"))).to(dev)
    with torch.inference_mode():
        ref = m(pix).double().cpu().numpy()
    out = {}
    for name in ("emb_cpu", "emb_gpu"):
        path = os.path.join(d, name + ".npy")
        if not os.path.exists(path):
            continue
        got = np.load(path).astype(np.float64)
        rel = max(np.abs(ref[i] - got[i]).max() / np.linalg.norm(ref[i]) for i in range(len(ref)))
        out[name] = rel
        print(f"torch ({dev}) vs Go {name[4:]}: max |Δf|/‖f‖ = {rel:.2e} (bar 1e-4)", flush=True)
    return out


def bench(torch, sizes, batches, seconds):
    res = {}
    for name in sizes:
        m = build(torch, **SIZES[name]).cuda().eval()
        for B in batches:
            x_dev = torch.randn(B, 3, 224, 224, device="cuda")
            x_host = x_dev.cpu()
            for mode, run in (("device_input", lambda: m(x_dev)),
                              ("host_input", lambda: m(x_host.cuda()).cpu())):
                with torch.inference_mode():
                    for _ in range(3):
                        run()
                    torch.cuda.synchronize()
                    n, t0 = 0, time.perf_counter()
                    while True:
                        run()
                        n += 1
                        if n % 5 == 0:
                            torch.cuda.synchronize()
                            if time.perf_counter() - t0 > seconds:
                                break
                    torch.cuda.synchronize()
                    dt = time.perf_counter() - t0
                ips = n * B / dt
                res.setdefault(f"{name}/batch{B}", {})[mode] = ips
                print(f"torch {name} batch {B} {mode}: {ips:.1f} images/s", flush=True)
        del m
        torch.cuda.empty_cache()
    return res


def profile(torch, sizes, B=64, iters=5):
    """Prints each model's CUDA kernels at batch B, input on the GPU: device
    milliseconds per forward pass and share, the largest first."""
    from torch.profiler import ProfilerActivity, profile as tprof
    for name in sizes:
        m = build(torch, **SIZES[name]).cuda().eval()
        x = torch.randn(B, 3, 224, 224, device="cuda")
        with torch.inference_mode():
            for _ in range(3):
                m(x)
            torch.cuda.synchronize()
            with tprof(activities=[ProfilerActivity.CUDA]) as prof:
                for _ in range(iters):
                    m(x)
                torch.cuda.synchronize()
        rows = []
        for ev in prof.key_averages():
            t = getattr(ev, "self_device_time_total", None)
            if t is None:
                t = getattr(ev, "self_cuda_time_total", 0)
            if t > 0:
                rows.append((t / 1e3 / iters, ev.count / iters, ev.key))
        rows.sort(reverse=True)
        total = sum(r[0] for r in rows)
        print(f"torch profile {name} batch {B}: device {total:.2f} ms per batch")
        for ms, n, key in rows[:25]:
            print(f"  {ms:8.3f} ms {100 * ms / total:5.1f}% x{n:g} {key[:110]}")
        del m
        torch.cuda.empty_cache()


def report(go_path, torch_res):
    ours = {}
    for line in open(go_path):
        mm = re.match(r"Benchmark(\w+)/(\S+?)(-\d+)?\s+\d+\s+.*?([\d.]+) images/s", line)
        if mm:
            ours[(mm.group(1), mm.group(2))] = float(mm.group(4))
    print("\n| model | batch | ours images/s | torch (input on GPU) | ratio | torch (input from host) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for (kind, key), v in sorted(ours.items()):
        if kind != "Encode":
            continue
        t = torch_res.get(key, {})
        dv, hv = t.get("device_input"), t.get("host_input")
        model, batch = key.split("/")
        cell = lambda x: (f"{x:.1f}", f"{v / x:.2f}×") if x else ("-", "-")
        a, b = cell(dv)
        c, e = cell(hv)
        print(f"| {model} | {batch[5:]} | {v:.1f} | {a} | {b} | {c} | {e} |")
    # The same forward pass from device memory on both sides, and many
    # images in one call (batches of 64, each uploaded while the previous
    # one computes), against PyTorch at batch 64 with its input on the GPU.
    extra = [(k, key) for (k, key) in sorted(ours) if k in ("EncodeResident", "EncodeMany", "EncodeBiasPass")]
    if extra:
        print("\n| ours | model | ours images/s | torch batch 64 (input on GPU) | ratio |")
        print("|---|---|---|---|---|")
        for kind, key in extra:
            model = key.split("/")[0]
            dv = torch_res.get(f"{model}/batch64", {}).get("device_input")
            v = ours[(kind, key)]
            print(f"| {kind} {key} | {model} | {v:.1f} | {dv and f'{dv:.1f}' or '-'} | {dv and f'{v / dv:.2f}×' or '-'} |")
    enc = ours.get(("Encode", "B32/batch64"))
    for (kind, key), v in sorted(ours.items()):
        if kind == "SecondOrder":
            line = f"\nAnalyze-style {key}: {v:.1f} images/s"
            if enc:
                line += f"; forward alone {enc:.1f} images/s; lens overhead {100 * (enc / v - 1):.1f}%"
            print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", help="directory written by TestExportForTorch")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--sizes", default="B32,B16,L14")
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--json", help="write the torch results here")
    ap.add_argument("--profile", help="sizes whose CUDA kernels to list at batch 64 (torch.profiler)")
    ap.add_argument("--go-bench", help="go test -bench output to compare with")
    a = ap.parse_args()
    import numpy as np
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}", flush=True)
    res = {}
    if a.export:
        res["compare"] = compare(torch, np, a.export)
    if a.bench:
        res["bench"] = bench(torch, a.sizes.split(","), [int(b) for b in a.batches.split(",")], a.seconds)
    if a.profile:
        profile(torch, a.profile.split(","))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    if a.go_bench:
        paths = a.go_bench.split(",")
        for path in paths:
            if len(paths) > 1:
                print(f"\n### ours from {path}")
            report(path, res.get("bench", {}))


if __name__ == "__main__":
    sys.exit(main())
