"""Makes the model goldens under testdata/clip/model/ from reference.py.

Run from this directory with Debian's python3 (torch 1.13, numpy 1.24):
    /usr/bin/python3 make_goldens.py
Each model directory holds model.safetensors (written by our own writer below),
inputs and expected outputs as .npy, and manifest.json.
"""
import json
import os
import struct

import numpy as np
import torch

import reference as ref

DTYPES = {torch.float32: ("F32", np.float32), torch.float16: ("F16", np.float16)}


def write_safetensors(path, sd, dtype, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for k in sorted(sd):
        t = sd[k].to(dtype).contiguous()
        name, npdt = DTYPES[dtype]
        b = t.numpy().astype(npdt).tobytes()
        header[k] = {"dtype": name, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def save(d, name, a):
    np.save(os.path.join(d, name + ".npy"), np.ascontiguousarray(a))


def make(name, seed, vision, text, embed, act, heads, dtype, metadata):
    d = name
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    sd = ref.random_state_dict(gen, vision, text, embed)
    # Round through the stored dtype so that Go and the reference use the same weights.
    sd = {k: v.to(dtype).to(torch.float32) for k, v in sd.items()}
    write_safetensors(os.path.join(d, "model.safetensors"), sd, dtype, metadata)
    manifest = {"activation": act, "heads": heads, "embed": embed, "vision": vision, "text": text,
                "dtype": DTYPES[dtype][0], "metadata": metadata}
    with torch.no_grad():
        if vision:
            S = vision["image"]
            pixels = torch.randn(2, 3, S, S, generator=gen)
            embs = []
            for i in range(2):
                e, tr = ref.encode_image(sd, pixels[i], heads, act)
                embs.append(e)
                if i == 0:
                    for l, t in tr.items():
                        if l == "ln_post":
                            save(d, "image_ln_post_mean", t["mean"].reshape(1).numpy())
                            save(d, "image_ln_post_scale", t["scale"].reshape(1).numpy())
                            continue
                        for k, v in t.items():
                            save(d, f"image_{k}_{l}", v.numpy())
            save(d, "pixels", pixels.numpy())
            save(d, "image_emb", torch.stack(embs).numpy())
        if text:
            V, C = text["vocab"], text["context"]
            sot, eot = V - 2, V - 1
            rows = []
            for n in (0, 3, C - 2):  # EOT right after SOT, in the middle, last
                body = torch.randint(1, V - 2, (n,), generator=gen).tolist()
                ids = [sot] + body + [eot]
                rows.append(ids + [0] * (C - len(ids)))
            tokens = torch.tensor(rows)
            embs = []
            for i, ids in enumerate(tokens):
                full, tr = ref.encode_tokens(sd, ids, heads, act, full_context=True)
                cut, _ = ref.encode_tokens(sd, ids, heads, act, full_context=False)
                assert torch.allclose(full, cut, atol=1e-5), "EOT truncation changed the result"
                embs.append(full)
                if i == 1:
                    for l, t in tr.items():
                        for k in ("attn_pattern", "mlp_post"):
                            save(d, f"text_{k}_{l}", t[k].numpy())
            save(d, "tokens", tokens.numpy().astype(np.int64))
            save(d, "text_emb", torch.stack(embs).numpy())
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    # quick_gelu, f16 storage, 2 heads of width 64 (inferred as width/64).
    make("small", 1, dict(image=32, patch=8, width=128, layers=2, mlp=512),
         dict(vocab=1000, context=16, width=128, layers=2, mlp=512), 64,
         "quick_gelu", 2, torch.float16, {})
    # exact GELU named in the metadata, f32 storage, 3 heads of width 16, no text tower.
    make("gelu", 2, dict(image=24, patch=6, width=48, layers=3, mlp=192), None, 32,
         "gelu", 3, torch.float32,
         {"neuronlens.activation": "gelu", "neuronlens.vision_heads": "3"})
