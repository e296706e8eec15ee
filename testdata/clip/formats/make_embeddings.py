"""Golden embeddings of the tiny model that make_formats.py stores in every
checkpoint format, computed with the independent reference in ../model.

Run from this directory with Debian's python3 (torch 1.13, numpy 1.24):
    /usr/bin/python3 make_embeddings.py
The vision tower uses 4 heads and the text tower 2, as hf/config.json says;
hf_bin and the bf16 file (through its metadata) declare exact GELU.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "model"))
import reference as ref  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    sd = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", v["dtype"]
        a, b = v["data_offsets"]
        sd[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return sd


sd = read_safetensors("openai.safetensors")
gen = torch.Generator().manual_seed(11)
pixels = torch.randn(3, 16, 16, generator=gen)
tokens = torch.tensor([48, 7, 3, 49, 0, 0, 0, 0])
np.save("expected_pixels.npy", pixels.numpy())
np.save("expected_tokens.npy", tokens.numpy().astype(np.int64))
# hf_bin and openai_bf16 (metadata) declare exact GELU; the bf16 weights are rounded.
bf16 = {k: v.to(torch.bfloat16).to(torch.float32) for k, v in sd.items()}
for suffix, weights, act in (("", sd, "quick_gelu"), ("_gelu", sd, "gelu"), ("_bf16", bf16, "gelu")):
    with torch.no_grad():
        img, _ = ref.encode_image(weights, pixels, 4, act)
        txt, _ = ref.encode_tokens(weights, tokens, 2, act)
    np.save(f"expected_image_emb{suffix}.npy", img.numpy())
    np.save(f"expected_text_emb{suffix}.npy", txt.numpy())
