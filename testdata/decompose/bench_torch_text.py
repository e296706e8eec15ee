"""Times a CLIP ViT-B/32 text tower (random weights) in PyTorch on the CPU.

Full-context pass: every text is 77 tokens (SOT, random ids, EOT last), as
open_clip's encode_text always runs the whole context. Same architecture as
neuronlens's clip.ViTB32() text tower: width 512, 12 blocks, 8 heads, MLP
2048, QuickGELU, causal mask, ln_final, projection to 512 at the EOT token.

    /usr/bin/python3 testdata/decompose/bench_torch_text.py [texts] [batch]

Prints texts/s by wall clock and by CPU time (user+system of this process).
"""
import os
import sys
import time

import torch
from torch import nn

torch.set_num_threads(2)
torch.manual_seed(0)

W, L, H, MLP, V, C, D = 512, 12, 8, 2048, 49408, 77, 512


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(W)
        self.attn = nn.MultiheadAttention(W, H)
        self.ln_2 = nn.LayerNorm(W)
        self.mlp = nn.Sequential(nn.Linear(W, MLP), QuickGELU(), nn.Linear(MLP, W))

    def forward(self, x, mask):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class TextTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_embedding = nn.Embedding(V, W)
        self.positional_embedding = nn.Parameter(torch.randn(C, W) * 0.01)
        self.blocks = nn.ModuleList([Block() for _ in range(L)])
        self.ln_final = nn.LayerNorm(W)
        self.text_projection = nn.Parameter(torch.randn(W, D) * W ** -0.5)
        mask = torch.full((C, C), float("-inf")).triu_(1)
        self.register_buffer("mask", mask)

    def forward(self, ids):  # [B, C]
        x = self.token_embedding(ids) + self.positional_embedding
        x = x.permute(1, 0, 2)  # [C, B, W], the layout open_clip used then
        for b in self.blocks:
            x = b(x, self.mask)
        x = self.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    model = TextTower().eval()
    ids = torch.randint(1, 49000, (n, C))
    ids[:, 0], ids[:, -1] = 49406, 49407
    with torch.no_grad():
        model(ids[:4])  # warm up
        w0, c0 = time.perf_counter(), os.times()
        for i in range(0, n, batch):
            model(ids[i:i + batch])
        w1, c1 = time.perf_counter(), os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {n} texts x {C} tokens, batch {batch}")
    print(f"wall {w1 - w0:.2f} s = {n / (w1 - w0):.1f} texts/s; cpu {cpu:.2f} s = {n / cpu:.1f} texts/cpu-s")


if __name__ == "__main__":
    main()
