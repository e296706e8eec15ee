#!/usr/bin/python3
# make_formats.py writes a tiny random CLIP checkpoint in every format that
# clip.Load reads. The Go tests compare every format against openai.safetensors.
#
# Made with: Debian /usr/bin/python3 3.11.2, torch 1.13.0a0 (Debian's python3-torch), numpy 1.24.2.
# Run from this directory: /usr/bin/python3 make_formats.py
#
# Every value is k/256 with |k| < 256, so it is exact in float32, float16 and
# bfloat16: the half-precision files must load to exactly the same numbers.
# visual.proj is saved as a transposed (non-contiguous) view in the PyTorch
# files, so the loaders' stride handling is tested.
#
#   openai.safetensors            f32, OpenAI naming: the reference
#   openai_f16/_bf16.safetensors  f16 / bf16; the bf16 file carries neuronlens.* metadata
#   state_dict.pt                 torch.save zip, f32
#   state_dict_legacy.pt          torch.save legacy (non-zip) format, f32
#   state_dict_f16.pt             torch.save zip, f16
#   openclip_ckpt.pt              {"epoch", "name", "state_dict": {"module." + key: f16}}
#   torchscript.pt                torch.jit.script of a module tree with the OpenAI keys, f16
#   hf/                           Hugging Face config.json (quick_gelu) + model.safetensors, f32
#   hf_bin/                       Hugging Face config.json (gelu) + pytorch_model.bin, f16
#   openclip_dir/                 open_clip_config.json (quick_gelu) + open_clip_model.safetensors, bf16
#   tiny*.pt                      three tensors in each PyTorch layout, seeds for the fuzz tests

import json
import os
import shutil
import struct
from collections import OrderedDict

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))

VW, VL, PATCH, IMG, EMBED = 32, 2, 8, 16, 16
TW, TL, CTX, VOCAB = 32, 1, 8, 50
VHEADS, THEADS = 4, 2
VTOK = 1 + (IMG // PATCH) ** 2

gen = torch.Generator().manual_seed(1234)


def rand(*shape):
    k = torch.randint(-255, 256, shape, generator=gen)
    return k.to(torch.float32) / 256.0


def block(prefix, w):
    return [
        (prefix + "ln_1.weight", rand(w)),
        (prefix + "ln_1.bias", rand(w)),
        (prefix + "attn.in_proj_weight", rand(3 * w, w)),
        (prefix + "attn.in_proj_bias", rand(3 * w)),
        (prefix + "attn.out_proj.weight", rand(w, w)),
        (prefix + "attn.out_proj.bias", rand(w)),
        (prefix + "ln_2.weight", rand(w)),
        (prefix + "ln_2.bias", rand(w)),
        (prefix + "mlp.c_fc.weight", rand(4 * w, w)),
        (prefix + "mlp.c_fc.bias", rand(4 * w)),
        (prefix + "mlp.c_proj.weight", rand(w, 4 * w)),
        (prefix + "mlp.c_proj.bias", rand(w)),
    ]


def openai_state_dict():
    sd = [
        ("visual.class_embedding", rand(VW)),
        ("visual.positional_embedding", rand(VTOK, VW)),
        # A transposed view: storage [EMBED, VW], shape [VW, EMBED], stride (1, VW).
        ("visual.proj", rand(EMBED, VW).t()),
        ("visual.conv1.weight", rand(VW, 3, PATCH, PATCH)),
        ("visual.ln_pre.weight", rand(VW)),
        ("visual.ln_pre.bias", rand(VW)),
    ]
    for i in range(VL):
        sd += block("visual.transformer.resblocks.%d." % i, VW)
    sd += [
        ("visual.ln_post.weight", rand(VW)),
        ("visual.ln_post.bias", rand(VW)),
        ("token_embedding.weight", rand(VOCAB, TW)),
        ("positional_embedding", rand(CTX, TW)),
    ]
    for i in range(TL):
        sd += block("transformer.resblocks.%d." % i, TW)
    sd += [
        ("ln_final.weight", rand(TW)),
        ("ln_final.bias", rand(TW)),
        ("text_projection", rand(TW, EMBED)),
        ("logit_scale", torch.tensor(4.5)),
    ]
    return OrderedDict(sd)


# --- safetensors, written by hand: 8-byte LE header length, JSON, raw bytes ---

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, sd, metadata=None):
    header, blobs, off = {}, [], 0
    for k in sorted(sd):
        b = raw_bytes(sd[k])
        header[k] = {"dtype": DTYPES[sd[k].dtype], "shape": list(sd[k].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# --- Hugging Face naming ---


def hf_block(dst, src, so, w):
    q, k, v = src[so + "attn.in_proj_weight"].chunk(3)
    qb, kb, vb = src[so + "attn.in_proj_bias"].chunk(3)
    d = lambda name: so.replace("resblocks", "encoder.layers") + name
    return [
        (dst + "self_attn.q_proj.weight", q.clone()),
        (dst + "self_attn.k_proj.weight", k.clone()),
        (dst + "self_attn.v_proj.weight", v.clone()),
        (dst + "self_attn.q_proj.bias", qb.clone()),
        (dst + "self_attn.k_proj.bias", kb.clone()),
        (dst + "self_attn.v_proj.bias", vb.clone()),
        (dst + "self_attn.out_proj.weight", src[so + "attn.out_proj.weight"]),
        (dst + "self_attn.out_proj.bias", src[so + "attn.out_proj.bias"]),
        (dst + "layer_norm1.weight", src[so + "ln_1.weight"]),
        (dst + "layer_norm1.bias", src[so + "ln_1.bias"]),
        (dst + "layer_norm2.weight", src[so + "ln_2.weight"]),
        (dst + "layer_norm2.bias", src[so + "ln_2.bias"]),
        (dst + "mlp.fc1.weight", src[so + "mlp.c_fc.weight"]),
        (dst + "mlp.fc1.bias", src[so + "mlp.c_fc.bias"]),
        (dst + "mlp.fc2.weight", src[so + "mlp.c_proj.weight"]),
        (dst + "mlp.fc2.bias", src[so + "mlp.c_proj.bias"]),
    ]


def hf_state_dict(sd):
    out = [
        ("vision_model.embeddings.class_embedding", sd["visual.class_embedding"]),
        ("vision_model.embeddings.patch_embedding.weight", sd["visual.conv1.weight"]),
        ("vision_model.embeddings.position_embedding.weight", sd["visual.positional_embedding"]),
        ("vision_model.embeddings.position_ids", torch.arange(VTOK).unsqueeze(0)),
        ("vision_model.pre_layrnorm.weight", sd["visual.ln_pre.weight"]),
        ("vision_model.pre_layrnorm.bias", sd["visual.ln_pre.bias"]),
        ("vision_model.post_layernorm.weight", sd["visual.ln_post.weight"]),
        ("vision_model.post_layernorm.bias", sd["visual.ln_post.bias"]),
        ("visual_projection.weight", sd["visual.proj"].t().contiguous()),
        ("text_model.embeddings.token_embedding.weight", sd["token_embedding.weight"]),
        ("text_model.embeddings.position_embedding.weight", sd["positional_embedding"]),
        ("text_model.embeddings.position_ids", torch.arange(CTX).unsqueeze(0)),
        ("text_model.final_layer_norm.weight", sd["ln_final.weight"]),
        ("text_model.final_layer_norm.bias", sd["ln_final.bias"]),
        ("text_projection.weight", sd["text_projection"].t().contiguous()),
        ("logit_scale", sd["logit_scale"]),
    ]
    for i in range(VL):
        out += hf_block("vision_model.encoder.layers.%d." % i, sd, "visual.transformer.resblocks.%d." % i, VW)
    for i in range(TL):
        out += hf_block("text_model.encoder.layers.%d." % i, sd, "transformer.resblocks.%d." % i, TW)
    return OrderedDict(out)


def hf_config(act):
    return {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": EMBED,
        "logit_scale_init_value": 2.6592,
        "text_config": {
            "hidden_size": TW, "intermediate_size": 4 * TW, "num_attention_heads": THEADS,
            "num_hidden_layers": TL, "max_position_embeddings": CTX, "vocab_size": VOCAB,
            "hidden_act": act, "projection_dim": EMBED,
        },
        "vision_config": {
            "hidden_size": VW, "intermediate_size": 4 * VW, "num_attention_heads": VHEADS,
            "num_hidden_layers": VL, "image_size": IMG, "patch_size": PATCH,
            "hidden_act": act, "num_channels": 3, "projection_dim": EMBED,
        },
    }


# --- TorchScript: a module tree whose state_dict() keys are the OpenAI keys ---


class Node(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def module_tree(sd, mask=True):
    root = Node()
    for key, t in sd.items():
        *path, leaf = key.split(".")
        m = root
        for p in path:
            if not hasattr(m, p):
                m.add_module(p, Node())
            m = getattr(m, p)
        m.register_parameter(leaf, nn.Parameter(t, requires_grad=False))
    # A plain tensor attribute, not a parameter or buffer, as OpenAI's
    # resblocks carry attn_mask; and plain ints, as OpenAI's root carries.
    if not mask:
        return root
    getattr(root.transformer.resblocks, "0").attn_mask = torch.full((CTX, CTX), float("-inf")).triu_(1)
    root.input_resolution = IMG
    root.context_length = CTX
    return root


def main():
    os.chdir(HERE)
    sd = openai_state_dict()
    assert not sd["visual.proj"].is_contiguous()
    contiguous = OrderedDict((k, v.contiguous()) for k, v in sd.items())

    write_safetensors("openai.safetensors", contiguous, {"format": "pt"})
    write_safetensors("openai_f16.safetensors", {k: v.half() for k, v in contiguous.items()}, {"format": "pt"})
    write_safetensors(
        "openai_bf16.safetensors",
        {k: v.bfloat16() for k, v in contiguous.items()},
        {"format": "pt", "neuronlens.activation": "gelu", "neuronlens.vision_heads": str(VHEADS),
         "neuronlens.text_heads": str(THEADS)},
    )

    torch.save(sd, "state_dict.pt")
    torch.save(sd, "state_dict_legacy.pt", _use_new_zipfile_serialization=False)
    torch.save(OrderedDict((k, v.half()) for k, v in sd.items()), "state_dict_f16.pt")
    torch.save({"epoch": 1, "name": "tiny", "state_dict": OrderedDict(("module." + k, v.half()) for k, v in sd.items())},
               "openclip_ckpt.pt")

    hf = hf_state_dict(sd)
    for d in ("hf", "hf_bin", "openclip_dir"):
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d)
    with open("hf/config.json", "w") as f:
        json.dump(hf_config("quick_gelu"), f, indent=2)
    write_safetensors("hf/model.safetensors", OrderedDict((k, v.contiguous()) for k, v in hf.items()), {"format": "pt"})
    with open("hf_bin/config.json", "w") as f:
        json.dump(hf_config("gelu"), f, indent=2)
    torch.save(OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in hf.items()), "hf_bin/pytorch_model.bin")

    with open("openclip_dir/open_clip_config.json", "w") as f:
        json.dump({
            "model_cfg": {
                "embed_dim": EMBED, "quick_gelu": True,
                "vision_cfg": {"image_size": IMG, "layers": VL, "width": VW, "patch_size": PATCH,
                               "head_width": VW // VHEADS},
                "text_cfg": {"context_length": CTX, "vocab_size": VOCAB, "width": TW, "heads": THEADS,
                             "layers": TL},
            },
            "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                               "std": [0.26862954, 0.26130258, 0.27577711]},
        }, f, indent=2)
    write_safetensors("openclip_dir/open_clip_model.safetensors", {k: v.bfloat16() for k, v in contiguous.items()})

    # Tiny files to seed the fuzz tests: a strided view, a half tensor, a scalar.
    tiny = OrderedDict([("a.w", rand(3, 2).t()), ("b", rand(4).half()), ("c", torch.tensor(1.5))])
    torch.save(tiny, "tiny.pt")
    torch.save(tiny, "tiny_legacy.pt", _use_new_zipfile_serialization=False)
    small = module_tree(OrderedDict([("a.w", tiny["a.w"]), ("c", tiny["c"])]), mask=False)
    torch.jit.script(small).save("tiny_torchscript.pt")
    small.a.register_buffer("scratch", torch.zeros(2), persistent=False)
    torch.save(small, "tiny_module.pt")  # a whole pickled nn.Module

    # Half precision, as OpenAI distributes its TorchScript models.
    half = OrderedDict((k, v.half()) for k, v in sd.items())
    assert not half["visual.proj"].is_contiguous()
    ts = torch.jit.script(module_tree(half))
    assert sorted(ts.state_dict().keys()) == sorted(sd.keys()), "TorchScript keys differ"
    assert not ts.state_dict()["visual.proj"].is_contiguous()
    ts.save("torchscript.pt")


if __name__ == "__main__":
    main()
