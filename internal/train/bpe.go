package train

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
)

// Merge is one rule of a BPE merge list: the adjacent symbols A and B (in
// CLIP's byte-symbol alphabet, "</w>" marking the end of a word) become AB.
type Merge struct{ A, B string }

// LearnBPE learns up to maxMerges byte-level BPE merges from texts, the way
// CLIP's vocabulary was made but deterministic and small:
//
//  1. Each text is lower-cased and split into pieces: runs of letters,
//     single digits, runs of other non-space characters (CLIP's pattern on
//     ASCII text). A piece is its bytes as CLIP's byte symbols, "</w>"
//     appended to the last.
//  2. Repeatedly, the adjacent pair with the largest count (summed over
//     every occurrence in texts) becomes a merge; ties go to the pair whose
//     "A B" line sorts first. All its occurrences merge, left to right.
//
// Learning stops after maxMerges merges, or when no piece has two symbols
// left, so that every piece of texts is then a single token. The result is
// the same for the same texts in any order.
func LearnBPE(texts []string, maxMerges int) []Merge {
	counts := map[string]int{}
	for _, t := range texts {
		for _, p := range splitPieces(strings.ToLower(t)) {
			counts[p]++
		}
	}
	type word struct {
		syms  []string
		count int
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	words := make([]word, len(keys))
	for i, k := range keys {
		syms := make([]string, len(k))
		for j := range len(k) {
			syms[j] = string(byteRune(k[j]))
		}
		syms[len(syms)-1] += "</w>"
		words[i] = word{syms: syms, count: counts[k]}
	}
	var merges []Merge
	for len(merges) < maxMerges {
		pairs := map[Merge]int{}
		for _, w := range words {
			for j := 1; j < len(w.syms); j++ {
				pairs[Merge{w.syms[j-1], w.syms[j]}] += w.count
			}
		}
		if len(pairs) == 0 {
			break
		}
		best, bestN := Merge{}, 0
		for p, n := range pairs {
			if n > bestN || n == bestN && p.A+" "+p.B < best.A+" "+best.B {
				best, bestN = p, n
			}
		}
		merges = append(merges, best)
		for i := range words {
			s := words[i].syms
			out := s[:0]
			for j := 0; j < len(s); j++ {
				if j+1 < len(s) && s[j] == best.A && s[j+1] == best.B {
					out = append(out, best.A+best.B)
					j++
					continue
				}
				out = append(out, s[j])
			}
			words[i].syms = out
		}
	}
	return merges
}

// WriteBPE writes merges in the format of CLIP's bpe_simple_vocab_16e6.txt
// (uncompressed): a version header line, then one "A B" merge per line, in
// rank order. [clip.ReadBPEMerges] reads it back.
func WriteBPE(w io.Writer, merges []Merge) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "#version: 0.2")
	for _, m := range merges {
		fmt.Fprintf(bw, "%s %s\n", m.A, m.B)
	}
	return bw.Flush()
}

// splitPieces splits lower-cased text as CLIP's pre-tokenizer does on ASCII:
// runs of letters, single digits, and runs of other non-space characters.
func splitPieces(s string) []string {
	var out []string
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case unicode.IsDigit(r):
			out = append(out, string(r))
			i++
		default:
			letter := unicode.IsLetter(r)
			j := i + 1
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !unicode.IsDigit(rs[j]) && unicode.IsLetter(rs[j]) == letter {
				j++
			}
			out = append(out, string(rs[i:j]))
			i = j
		}
	}
	return out
}

// byteRune is CLIP's byte-to-symbol map (bytes_to_unicode): printable
// Latin-1 bytes stand for themselves, the other 68 bytes map in order to
// U+0100 onwards.
func byteRune(b byte) rune {
	if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b {
		return rune(b)
	}
	n := 0
	for c := 0; c < int(b); c++ {
		cb := byte(c)
		if !('!' <= cb && cb <= '~' || 0xA1 <= cb && cb <= 0xAC || 0xAE <= cb) {
			n++
		}
	}
	return rune(256 + n)
}
