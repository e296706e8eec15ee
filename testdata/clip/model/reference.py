"""An independent PyTorch reference of the CLIP ViT architecture, for goldens.

Written for neuronlens from the architecture's description (OpenAI/open_clip
layout and key names); it shares no code with those projects. Every module
returns what the Go side can trace, so the goldens cover traces too.

Made with Debian's python3-torch 1.13 and python3-numpy 1.24.
"""
import math

import torch
import torch.nn.functional as F


def activation(name, x):
    if name == "quick_gelu":
        return x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    raise ValueError(name)


def layer_norm(x, w, b, eps=1e-5):
    """Returns LN(x), the per-row mean and sigma = sqrt(biased var + eps)."""
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    sigma = torch.sqrt(var + eps)
    return (x - mu) / sigma * w + b, mu.squeeze(-1), sigma.squeeze(-1)


def block(sd, pre, x, heads, act, causal, trace, layer):
    """One pre-LN residual block on x [T, D]. Appends traces for this layer."""
    T, D = x.shape
    dh = D // heads
    t = {"resid_pre": x.clone()}
    h, mu, sigma = layer_norm(x, sd[pre + "ln_1.weight"], sd[pre + "ln_1.bias"])
    t["ln1_mean"], t["ln1_scale"] = mu, sigma
    qkv = h @ sd[pre + "attn.in_proj_weight"].T + sd[pre + "attn.in_proj_bias"]
    q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
    q = q.reshape(T, heads, dh).transpose(0, 1)  # [H, T, dh]
    k = k.reshape(T, heads, dh).transpose(0, 1)
    v = v.reshape(T, heads, dh).transpose(0, 1)
    scores = q @ k.transpose(1, 2) / math.sqrt(dh)  # [H, T, T]
    if causal:
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, float("-inf"))
    pattern = torch.softmax(scores, dim=-1)
    t["attn_pattern"] = pattern
    z = (pattern @ v).transpose(0, 1).reshape(T, D)
    attn_out = z @ sd[pre + "attn.out_proj.weight"].T + sd[pre + "attn.out_proj.bias"]
    x = x + attn_out
    h, _, _ = layer_norm(x, sd[pre + "ln_2.weight"], sd[pre + "ln_2.bias"])
    pre_act = h @ sd[pre + "mlp.c_fc.weight"].T + sd[pre + "mlp.c_fc.bias"]
    post = activation(act, pre_act)
    t["mlp_post"] = post
    x = x + post @ sd[pre + "mlp.c_proj.weight"].T + sd[pre + "mlp.c_proj.bias"]
    t["resid_post"] = x.clone()
    trace[layer] = t
    return x


def count_layers(sd, prefix):
    n = 0
    while f"{prefix}{n}.attn.in_proj_weight" in sd:
        n += 1
    return n


def encode_image(sd, pixels, heads, act):
    """pixels [3, S, S] normalized; returns (embedding [d], traces)."""
    w = sd["visual.conv1.weight"]  # [D, 3, p, p]
    D, p = w.shape[0], w.shape[-1]
    patches = F.conv2d(pixels[None], w, stride=p)[0]  # [D, g, g]
    x = patches.reshape(D, -1).T  # [g*g, D], row-major patch grid
    x = torch.cat([sd["visual.class_embedding"][None], x], 0)
    x = x + sd["visual.positional_embedding"]
    x, _, _ = layer_norm(x, sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"])
    trace = {}
    for l in range(count_layers(sd, "visual.transformer.resblocks.")):
        x = block(sd, f"visual.transformer.resblocks.{l}.", x, heads, act, False, trace, l)
    y, mu, sigma = layer_norm(x[0], sd["visual.ln_post.weight"], sd["visual.ln_post.bias"])
    trace["ln_post"] = {"mean": mu, "scale": sigma}
    return y @ sd["visual.proj"], trace


def encode_tokens(sd, ids, heads, act, full_context=True):
    """ids [ctx] (SOT ... EOT, zero padded); the EOT is the argmax id."""
    ids = torch.as_tensor(ids)
    eot = int(ids.argmax())
    T = ids.shape[0] if full_context else eot + 1
    x = sd["token_embedding.weight"][ids[:T]] + sd["positional_embedding"][:T]
    trace = {}
    for l in range(count_layers(sd, "transformer.resblocks.")):
        x = block(sd, f"transformer.resblocks.{l}.", x, heads, act, True, trace, l)
    y, _, _ = layer_norm(x[eot], sd["ln_final.weight"], sd["ln_final.bias"])
    return y @ sd["text_projection"], trace


def random_state_dict(gen, vision, text, embed):
    """A random CLIP state dict in OpenAI naming. vision/text: dicts of sizes."""
    sd = {}

    def rnd(*shape, scale=None):
        fan = shape[-1] if len(shape) > 1 else 1
        s = scale if scale is not None else 1.0 / math.sqrt(fan)
        return torch.randn(*shape, generator=gen) * s

    def tower(prefix, width, layers, mlp):
        for l in range(layers):
            b = f"{prefix}{l}."
            sd[b + "ln_1.weight"] = 1 + 0.1 * rnd(width, scale=1)
            sd[b + "ln_1.bias"] = 0.1 * rnd(width, scale=1)
            sd[b + "attn.in_proj_weight"] = rnd(3 * width, width)
            sd[b + "attn.in_proj_bias"] = 0.1 * rnd(3 * width, scale=1)
            sd[b + "attn.out_proj.weight"] = rnd(width, width)
            sd[b + "attn.out_proj.bias"] = 0.1 * rnd(width, scale=1)
            sd[b + "ln_2.weight"] = 1 + 0.1 * rnd(width, scale=1)
            sd[b + "ln_2.bias"] = 0.1 * rnd(width, scale=1)
            sd[b + "mlp.c_fc.weight"] = rnd(mlp, width)
            sd[b + "mlp.c_fc.bias"] = 0.1 * rnd(mlp, scale=1)
            sd[b + "mlp.c_proj.weight"] = rnd(width, mlp)
            sd[b + "mlp.c_proj.bias"] = 0.1 * rnd(width, scale=1)

    if vision:
        W, p, S = vision["width"], vision["patch"], vision["image"]
        T = 1 + (S // p) ** 2
        sd["visual.conv1.weight"] = rnd(W, 3, p, p, scale=1 / math.sqrt(3 * p * p))
        sd["visual.class_embedding"] = rnd(W, scale=1)
        sd["visual.positional_embedding"] = rnd(T, W, scale=0.5)
        sd["visual.ln_pre.weight"] = 1 + 0.1 * rnd(W, scale=1)
        sd["visual.ln_pre.bias"] = 0.1 * rnd(W, scale=1)
        tower("visual.transformer.resblocks.", W, vision["layers"], vision["mlp"])
        sd["visual.ln_post.weight"] = 1 + 0.1 * rnd(W, scale=1)
        sd["visual.ln_post.bias"] = 0.1 * rnd(W, scale=1)
        sd["visual.proj"] = rnd(W, embed)
    if text:
        W = text["width"]
        sd["token_embedding.weight"] = rnd(text["vocab"], W, scale=1)
        sd["positional_embedding"] = rnd(text["context"], W, scale=0.5)
        tower("transformer.resblocks.", W, text["layers"], text["mlp"])
        sd["ln_final.weight"] = 1 + 0.1 * rnd(W, scale=1)
        sd["ln_final.bias"] = 0.1 * rnd(W, scale=1)
        sd["text_projection"] = rnd(W, embed)
    sd["logit_scale"] = torch.tensor(math.log(1 / 0.07))
    return sd
