#!/usr/bin/python3
# make_tokens.py writes tokens.json, the golden token ids for clip/tokenizer_test.go.
#
# Made with: Python 3.11.2, regex 2.5.123 (pip "regex"), the standard html, gzip
# and json modules. No torch, no ftfy, no CLIP package: this file is an
# independent, from-scratch statement of the reference algorithm (byte-level
# BPE over CLIP's merge list), written for this repository.
#
# Like the Go tokenizer, it cleans text with html.unescape applied twice,
# strip, whitespace collapsing and str.lower, and skips ftfy.fix_text.
#
# Usage (from the repository root):
#
#   /usr/bin/python3 testdata/clip/tokens/make_tokens.py \
#       ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz \
#       testdata/clip/tokens/tokens.json
#
# The vocabulary file is third-party data and is not in this repository;
# tokens.json holds only our test strings and the ids they encode to.

import gzip
import html
import json
import sys

import regex

CONTEXT = 77
N_MERGES = 49152 - 256 - 2
SOT_TEXT = "<|startoftext|>"
EOT_TEXT = "<|endoftext|>"


def byte_alphabet():
    """Maps each byte 0..255 to a printable character, as CLIP does."""
    keep = (list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD))
            + list(range(0xAE, 0x100)))
    order = list(keep)
    chars = [chr(b) for b in keep]
    extra = 0
    for b in range(256):
        if b in keep:
            continue
        order.append(b)
        chars.append(chr(256 + extra))
        extra += 1
    return order, chars  # vocabulary order, and the character for each entry


class Reference:
    def __init__(self, gz_path):
        order, chars = byte_alphabet()
        self.char_of_byte = {b: c for b, c in zip(order, chars)}
        with gzip.open(gz_path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        pairs = [tuple(line.split()) for line in lines[1:1 + N_MERGES]]
        assert len(pairs) == N_MERGES
        words = list(chars) + [c + "</w>" for c in chars]
        words += ["".join(p) for p in pairs]
        words += [SOT_TEXT, EOT_TEXT]
        self.ids = {w: i for i, w in enumerate(words)}
        self.rank = {p: i for i, p in enumerate(pairs)}
        self.sot = self.ids[SOT_TEXT]
        self.eot = self.ids[EOT_TEXT]
        self.split = regex.compile(
            r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d"
            r"|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+",
            regex.IGNORECASE)
        self.space = regex.compile(r"\s+")

    def clean(self, text):
        text = html.unescape(html.unescape(text)).strip()
        text = self.space.sub(" ", text).strip()
        return text.lower()

    def merge(self, word):
        if word in (SOT_TEXT, EOT_TEXT):
            return [word]
        syms = list(word[:-1]) + [word[-1] + "</w>"]
        while len(syms) > 1:
            best = None
            for a, b in zip(syms, syms[1:]):
                r = self.rank.get((a, b))
                if r is not None and (best is None or r < best[0]):
                    best = (r, a, b)
            if best is None:
                break
            _, a, b = best
            out = []
            i = 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        return syms

    def tokens(self, text):
        ids = []
        for piece in self.split.findall(self.clean(text)):
            word = "".join(self.char_of_byte[b] for b in piece.encode("utf-8"))
            ids.extend(self.ids[s] for s in self.merge(word))
        return ids

    def encode(self, text, context=CONTEXT):
        ids = [self.sot] + self.tokens(text) + [self.eot]
        if len(ids) > context:
            ids = ids[:context]
            ids[-1] = self.eot
        return ids + [0] * (context - len(ids))


TEXTS = [
    "a photo of a cat",
    "",
    "   ",
    "A Photo Of A CAT",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\n  many     spaces \x0b\x0c end",
    "\u00a0no-break\u2003em space\u3000ideographic\u0085next line\u2028",
    "\x1cseparators\x1dinside\x1e\x1f",
    "x\x1cy \x1f",
    "Hello, World!!! ...? (yes) [no] {maybe}",
    "2024",
    "3.14",
    "pi is 3.14159, e is 2.718; 1,000,000 costs $5.99 or 50%",
    "café naïve Ångström",
    "CAFÉ NAÏVE ÅNGSTRÖM",
    "cafe\u0301 e\u0301\u0301",
    "I \u2764\ufe0f my \U0001f408\u200d\u2b1b \U0001f44d\U0001f3fd \U0001f1eb\U0001f1f7!",
    "\U0001f600\U0001f600\U0001f600",
    "\u4e00\u53ea\u732b\u7684\u7167\u7247",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4",
    "MiXeD CaSe ToKeNs iPhone McDonald's",
    "&amp;amp; &lt;b&gt;bold&lt;/b&gt;",
    "&amp;lt;i&amp;gt; &quot;quoted&quot; &apos;x&apos; &nbsp;nbsp",
    "&#39;n&#39; &#x41;&#X42;&#67 &#0; &#128; &#1; &#13; &#xD800; &#1114112; &#99999999999999;",
    "&notit; &notin; &ampfoo &amp &copy2024 &CounterClockwiseContourIntegral; &NotEqualTilde;",
    "&&amp;#38; &#; &#x; & ; &unknown; &am &AMP; &aacute;&Aacute;",
    "&thisisaverylongnamethatisnotanentityatallreally; &lt",
    "don't it's WE'LL they're I'VE I'm he'd",
    "'s's 'S 'x '' 'ſ ſ",
    "<|startoftext|>hello<|endoftext|>",
    "<|STARTOFTEXT|> <|EndOfText|> !<|endoftext|>",
    "<|ſtartoftext|> <|startoftext| <|endoftext>",
    "\u039f\u0394\u039f\u03a3 \u039f\u0394\u039f\u03a3. \u03a3 \u0391\u03a3\u0391 \u0391\u03a3'",
    "\u0130stanbul \u0130 \u0131i",
    "a\u0345b \u0345 \u0399\u0345",
    "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u0928\u092e\u0938\u094d\u0924\u0947",
    "\u0663 \u216b \u00bd \u00b2 \u2460",
    "https://example.com/path?q=1&x=2#frag",
    "C++ and C# are languages; mail me@example.com",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "nul\x00bell\x07del\x7f",
    "\ufb01 ligature \uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48",
    "a" * 100,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a diagram of a neural network with many layers, " * 8,
    "The quick brown fox jumps over the lazy dog; " * 20,
    "one two three four five six seven eight nine ten " * 8,
]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_tokens.py bpe_simple_vocab_16e6.txt.gz tokens.json")
    ref = Reference(sys.argv[1])
    assert ref.encode("a photo of a cat")[:7] == [49406, 320, 1125, 539, 320, 2368, 49407]
    rows = [{"text": t, "clean": ref.clean(t), "ids": ref.encode(t)} for t in TEXTS]
    with open(sys.argv[2], "w", encoding="ascii") as f:
        json.dump(rows, f, ensure_ascii=True, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
