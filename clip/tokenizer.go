package clip

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// CLIP's vocabulary, in the order its ids follow.
const (
	// clipVocabSize is the number of token ids in CLIP's vocabulary: 512
	// byte symbols, clipMerges merged symbols and the two special tokens.
	clipVocabSize = 49408
	// clipMerges is how many lines of bpe_simple_vocab_16e6.txt, after its
	// header line, CLIP uses: 49152 - 256 - 2.
	clipMerges = 49152 - 256 - 2

	// SOTText is the start-of-text token, id 49406 in CLIP's vocabulary.
	SOTText = "<|startoftext|>"
	// EOTText is the end-of-text token, id 49407 in CLIP's vocabulary.
	EOTText = "<|endoftext|>"

	wordEnd = "</w>" // suffix of a word's last symbol

	// maxCacheWords bounds the per-tokenizer cache of BPE results; when it
	// is full the cache starts afresh. The cache never changes results.
	maxCacheWords = 1 << 16
)

// ErrVocab reports a tokenizer vocabulary that cannot be used: a merges file
// that is truncated or garbled, or a vocab.json that lacks a byte symbol, a
// merged symbol or a special token. Errors from [LoadTokenizer], [ReadBPE] and
// [ReadHFTokenizer] wrap it, and name the file and the line or key.
var ErrVocab = errors.New("clip: bad tokenizer vocabulary")

// Tokenizer is CLIP's byte-level BPE tokenizer, the SimpleTokenizer of
// OpenAI's CLIP, reimplemented. Encoding text is:
//
//  1. Clean: HTML-unescape twice (Python's html.unescape rules, with the full
//     HTML5 entity table), strip leading and trailing white space, collapse
//     each run of white space to one space, and lowercase (Python's
//     str.lower, so "İ" becomes "i̇" and a word-final "Σ" becomes "ς").
//     OpenAI also runs ftfy.fix_text first; that is not done here, so text
//     with mojibake, curly quotes, ligatures, full-width letters or
//     decomposed accents can encode differently from OpenAI's tokenizer.
//     Invalid UTF-8 is first replaced by U+FFFD, as Python's
//     bytes.decode(errors="replace") does.
//  2. Split into pieces, as the case-insensitive pattern
//     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//     does under Python's regex module (which also drops U+0345, a mark
//     that case-folds to a letter).
//  3. Map each piece's UTF-8 bytes to the 256 byte symbols, append "</w>" to
//     the last one, and merge adjacent pairs, lowest merge rank first, until
//     no pair has a rank. The special tokens written in the text map to
//     their own ids.
//
// Character classes follow Go's unicode tables (Unicode 15.0).
//
// A Tokenizer is safe for concurrent use: its vocabulary is read-only after
// loading, and its cache of BPE results is guarded by a mutex.
type Tokenizer struct {
	byteID    [256]int32       // id of the symbol of each byte
	byteEndID [256]int32       // id of the symbol of each byte plus "</w>"
	merges    map[uint64]merge // (left id << 32 | right id) → rank and result
	words     [][]byte         // id → the bytes the token stands for (Decode)
	sot, eot  int

	mu    sync.RWMutex
	cache map[string][]int32 // piece → its BPE ids
}

// merge is one entry of the merge table: pairs of lower rank merge first.
type merge struct {
	rank int32
	id   int32 // id of the merged symbol
}

// LoadTokenizer reads a tokenizer vocabulary from path, which is one of:
//
//   - CLIP's bpe_simple_vocab_16e6.txt.gz, or the same file uncompressed
//     (see [ReadBPE]); gzip is recognised by its magic bytes;
//   - a Hugging Face vocab.json (any name ending in ".json"), with merges.txt
//     read from the same directory (see [ReadHFTokenizer]);
//   - a directory holding vocab.json and merges.txt.
//
// A merge-list file with fewer merges than CLIP's 48,894 gives a vocabulary
// of its own size (512 byte symbols, its merges, then SOT and EOT), as the
// small models neuronlens trains ship; [Load] checks that a vocabulary's size
// matches the model's token embedding.
//
// Errors name the file; those about the contents wrap [ErrVocab].
func LoadTokenizer(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("clip: tokenizer: %w", err)
	}
	if st.IsDir() {
		return loadHF(filepath.Join(path, "vocab.json"), filepath.Join(path, "merges.txt"))
	}
	if strings.HasSuffix(strings.ToLower(path), ".json") {
		return loadHF(path, filepath.Join(filepath.Dir(path), "merges.txt"))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clip: tokenizer: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("clip: tokenizer: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return readBPE(r, path, clipMerges, true)
}

func loadHF(vocabPath, mergesPath string) (*Tokenizer, error) {
	vf, err := os.Open(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("clip: tokenizer: %w", err)
	}
	defer vf.Close()
	mf, err := os.Open(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("clip: tokenizer: %w", err)
	}
	defer mf.Close()
	return readHF(vf, mf, vocabPath, mergesPath)
}

// ReadBPE reads CLIP's merge list, the uncompressed bpe_simple_vocab_16e6.txt:
// a header line, which is skipped, then one merge per line, two symbols
// separated by a space, most frequent first. Like CLIP, it uses the first
// 48,894 merges and ignores the rest. The vocabulary is the 256 byte symbols,
// the same with "</w>" appended, each merge's two symbols joined, then
// [SOTText] (id 49406) and [EOTText] (id 49407).
//
// A file with fewer merges, or a merge line that is not two symbols, is an
// error wrapping [ErrVocab]; so is a read error.
func ReadBPE(r io.Reader) (*Tokenizer, error) {
	return readBPE(r, "merges", clipMerges, false)
}

// ReadBPEMerges reads a merge list in the format of [ReadBPE] but with a
// vocabulary of its own size: it uses the first n merges, or every merge in
// the file when n is negative. The vocabulary is the 512 byte symbols, the n
// merged symbols, then [SOTText] (id n+512) and [EOTText] (id n+513), so
// SOT and EOT are the last two ids, as in CLIP. neuronlens's own small
// models ship such a list, learned from their captions.
//
// A file with fewer than n merges, or a merge line that is not two
// symbols, is an error wrapping [ErrVocab]; so is a read error.
func ReadBPEMerges(r io.Reader, n int) (*Tokenizer, error) {
	return readBPE(r, "merges", n, false)
}

// readBPE reads a CLIP merge list and uses its first n merges, or all of
// them when n is negative; with atMost, a file with fewer merges gives a
// vocabulary of its own size. name is the file in error messages.
func readBPE(r io.Reader, name string, n int, atMost bool) (*Tokenizer, error) {
	all := n < 0
	if all {
		n = math.MaxInt
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("clip: tokenizer: %s: %w", name, err)
		}
		return nil, fmt.Errorf("%w: %s: empty file, want a header line and %d merges", ErrVocab, name, n)
	}
	line++
	// Read the merges before allocating the vocabulary, so that a short or
	// garbled file costs no more than its own size.
	type pair struct{ a, b string }
	pairs := make([]pair, 0, min(n, 1024))
	for len(pairs) < n && sc.Scan() {
		line++
		a, b, ok := splitPair(sc.Text())
		if !ok {
			return nil, fmt.Errorf("%w: %s:%d: merge %q is not two symbols", ErrVocab, name, line, truncate(sc.Text(), 40))
		}
		pairs = append(pairs, pair{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("clip: tokenizer: %s:%d: %w", name, line+1, err)
	}
	if all || atMost {
		n = min(n, len(pairs))
	}
	if len(pairs) < n {
		return nil, fmt.Errorf("%w: %s: %d merges, want %d", ErrVocab, name, len(pairs), n)
	}
	t := newTokenizer(n+512+2, n)
	ids := make(map[string]int32, n+512+2)
	var symbols [256]string
	for i, b := range byteOrder() {
		symbols[b] = string(byteRune(b))
		ids[symbols[b]] = int32(i)
		ids[symbols[b]+wordEnd] = int32(256 + i)
		t.words[i] = []byte{b}
		t.words[256+i] = []byte{b, '<', '/', 'w', '>'}
	}
	for k, p := range pairs {
		id := int32(512 + k)
		ids[p.a+p.b] = id // a later duplicate wins, as in CLIP's dict
		t.words[id] = decodeSymbols(p.a + p.b)
	}
	t.sot, t.eot = n+512, n+513
	t.words[t.sot], t.words[t.eot] = []byte(SOTText), []byte(EOTText)
	ids[SOTText], ids[EOTText] = int32(t.sot), int32(t.eot)
	for b := range 256 {
		t.byteID[b] = ids[symbols[b]]
		t.byteEndID[b] = ids[symbols[b]+wordEnd]
	}
	for rank, p := range pairs {
		ia, okA := ids[p.a]
		ib, okB := ids[p.b]
		if !okA || !okB {
			continue // a symbol that no merge makes: the pair never occurs
		}
		t.merges[pairKey(ia, ib)] = merge{rank: int32(rank), id: ids[p.a+p.b]}
	}
	return t, nil
}

// ReadHFTokenizer reads a Hugging Face CLIP tokenizer: vocab, a JSON object
// mapping each token to its id (vocab.json), and merges, one merge of two
// space-separated symbols per line, most frequent first (merges.txt; lines
// starting with "#version" and blank lines are skipped). All merges are used.
//
// The ids must be 0..len(vocab)-1, each once. The vocabulary must hold the
// 512 byte symbols (with and without "</w>"), both symbols and the result of
// every merge, and [SOTText] and [EOTText]; otherwise the error wraps
// [ErrVocab].
func ReadHFTokenizer(vocab, merges io.Reader) (*Tokenizer, error) {
	return readHF(vocab, merges, "vocab.json", "merges.txt")
}

func readHF(vocab, merges io.Reader, vocabName, mergesName string) (*Tokenizer, error) {
	var ids map[string]int32
	if err := json.NewDecoder(vocab).Decode(&ids); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrVocab, vocabName, err)
	}
	n := len(ids)
	words := make([][]byte, n)
	for tok, id := range ids {
		if id < 0 || int(id) >= n {
			return nil, fmt.Errorf("%w: %s: token %q has id %d, want 0..%d", ErrVocab, vocabName, truncate(tok, 40), id, n-1)
		}
		if words[id] != nil {
			return nil, fmt.Errorf("%w: %s: id %d is given twice", ErrVocab, vocabName, id)
		}
		if tok == SOTText || tok == EOTText {
			words[id] = []byte(tok)
		} else {
			words[id] = decodeSymbols(tok)
		}
	}
	t := newTokenizer(0, 0)
	t.words = words
	for _, special := range []string{SOTText, EOTText} {
		if _, ok := ids[special]; !ok {
			return nil, fmt.Errorf("%w: %s: no %s token", ErrVocab, vocabName, special)
		}
	}
	t.sot, t.eot = int(ids[SOTText]), int(ids[EOTText])
	for _, b := range byteOrder() {
		s := string(byteRune(b))
		id, ok := ids[s]
		idEnd, okEnd := ids[s+wordEnd]
		if !ok || !okEnd {
			return nil, fmt.Errorf("%w: %s: no byte symbol %q or %q", ErrVocab, vocabName, s, s+wordEnd)
		}
		t.byteID[b], t.byteEndID[b] = id, idEnd
	}
	sc := bufio.NewScanner(merges)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line, rank := 0, int32(0)
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.HasPrefix(text, "#version") || strings.TrimSpace(text) == "" {
			continue
		}
		a, b, ok := splitPair(text)
		if !ok {
			return nil, fmt.Errorf("%w: %s:%d: merge %q is not two symbols", ErrVocab, mergesName, line, truncate(text, 40))
		}
		ia, okA := ids[a]
		ib, okB := ids[b]
		iab, okAB := ids[a+b]
		if !okA || !okB || !okAB {
			return nil, fmt.Errorf("%w: %s:%d: merge %q: a symbol or the result is not in %s", ErrVocab, mergesName, line, truncate(text, 40), vocabName)
		}
		t.merges[pairKey(ia, ib)] = merge{rank: rank, id: iab}
		rank++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("clip: tokenizer: %s:%d: %w", mergesName, line+1, err)
	}
	return t, nil
}

func newTokenizer(vocabSize, merges int) *Tokenizer {
	return &Tokenizer{
		merges: make(map[uint64]merge, merges),
		words:  make([][]byte, vocabSize),
		cache:  make(map[string][]int32),
	}
}

// splitPair splits a merge line into its two symbols, as Python's str.split
// with no argument would, and reports whether there are exactly two.
func splitPair(line string) (a, b string, ok bool) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return "", "", false
	}
	return f[0], f[1], true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// byteOrder returns the bytes in CLIP's vocabulary order: the printable bytes
// '!'..'~', '¡'..'¬' and '®'..'ÿ' in increasing order, then the others.
func byteOrder() [256]byte {
	var order [256]byte
	n := 0
	for b := range 256 {
		if printableByte(byte(b)) {
			order[n] = byte(b)
			n++
		}
	}
	for b := range 256 {
		if !printableByte(byte(b)) {
			order[n] = byte(b)
			n++
		}
	}
	return order
}

func printableByte(b byte) bool {
	return '!' <= b && b <= '~' || 0xa1 <= b && b <= 0xac || 0xae <= b
}

// byteRune returns the character that stands for byte b in CLIP's symbols:
// the byte itself when printable, otherwise U+0100 onward in byte order, for
// the 68 bytes 0x00..0x20, 0x7f..0xa0 and 0xad.
func byteRune(b byte) rune {
	switch {
	case b <= 0x20:
		return 0x100 + rune(b)
	case 0x7f <= b && b <= 0xa0:
		return 0x100 + 0x21 + rune(b-0x7f)
	case b == 0xad:
		return 0x100 + 0x21 + 0x22
	}
	return rune(b)
}

// symbolByte inverts byteRune; ok is false for a rune that stands for no byte.
func symbolByte(r rune) (b byte, ok bool) {
	switch {
	case r < 0x100 && printableByte(byte(r)):
		return byte(r), true
	case 0x100 <= r && r <= 0x120:
		return byte(r - 0x100), true
	case 0x121 <= r && r <= 0x142:
		return byte(r - 0x121 + 0x7f), true
	case r == 0x143:
		return 0xad, true
	}
	return 0, false
}

// decodeSymbols turns a token written in byte symbols back into bytes.
// "</w>" is kept as text; a rune that stands for no byte is kept as UTF-8.
func decodeSymbols(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], wordEnd) {
			out = append(out, wordEnd...)
			i += len(wordEnd)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if b, ok := symbolByte(r); ok {
			out = append(out, b)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return out
}

// SOT returns the id of the start-of-text token (49406 for CLIP).
func (t *Tokenizer) SOT() int { return t.sot }

// EOT returns the id of the end-of-text token (49407 for CLIP).
func (t *Tokenizer) EOT() int { return t.eot }

// VocabSize returns the number of token ids, 49408 for CLIP; every id that
// Encode returns is below it.
func (t *Tokenizer) VocabSize() int { return len(t.words) }

// Encode tokenizes text into exactly contextLength ids, as CLIP's tokenize
// with truncation does: [SOT, BPE ids..., EOT, 0, 0, ...]. When the tokens do
// not fit, the BPE ids are cut so that the last id is EOT:
//
//	tokens = [SOT] + Tokens(text) + [EOT]
//	if len(tokens) > contextLength { tokens = tokens[:contextLength]; tokens[contextLength-1] = EOT }
//
// A contextLength below 2 is an error.
func (t *Tokenizer) Encode(text string, contextLength int) ([]int, error) {
	if contextLength < 2 {
		return nil, fmt.Errorf("clip: tokenizer: context length %d, want at least 2", contextLength)
	}
	ids := make([]int, 1, contextLength)
	ids[0] = t.sot
	ids = t.appendTokens(ids, text, contextLength-1)
	if len(ids) > contextLength-1 {
		ids = ids[:contextLength-1]
	}
	ids = append(ids, t.eot)
	n := len(ids)
	ids = ids[:contextLength]
	clear(ids[n:])
	return ids, nil
}

// Tokens returns the BPE ids of text, without SOT, EOT or padding, and
// without truncation. See [Tokenizer] for the steps.
func (t *Tokenizer) Tokens(text string) []int {
	return t.appendTokens(make([]int, 0, len(text)/3+4), text, -1)
}

// appendTokens appends the BPE ids of text to dst and returns it. When limit
// is not negative, it may stop early once len(dst) reaches limit.
func (t *Tokenizer) appendTokens(dst []int, text string, limit int) []int {
	s := cleanText(text)
	var scratch []int32
	for i := 0; i < len(s); {
		if limit >= 0 && len(dst) >= limit {
			break
		}
		start, end := nextPiece(s, i)
		if start == end {
			break
		}
		i = end
		piece := s[start:end]
		switch piece {
		case SOTText:
			dst = append(dst, t.sot)
			continue
		case EOTText:
			dst = append(dst, t.eot)
			continue
		}
		t.mu.RLock()
		cached, ok := t.cache[piece]
		t.mu.RUnlock()
		if !ok {
			scratch = t.bpe(piece, scratch[:0])
			cached = append([]int32(nil), scratch...)
			t.mu.Lock()
			if len(t.cache) >= maxCacheWords {
				t.cache = make(map[string][]int32)
			}
			t.cache[strings.Clone(piece)] = cached // a clone does not pin the text
			t.mu.Unlock()
		}
		for _, id := range cached {
			dst = append(dst, int(id))
		}
	}
	return dst
}

// shortPiece is the longest piece that bpe merges with the plain quadratic
// loop; longer pieces go through the heap in bpeLong.
const shortPiece = 48

// bpe appends the ids of piece, a non-empty byte string, to w and returns it.
//
// Each round finds the adjacent pair of lowest merge rank and merges all its
// occurrences, left to right and without overlap, until no pair has a rank.
func (t *Tokenizer) bpe(piece string, w []int32) []int32 {
	last := len(piece) - 1
	for i := range last {
		w = append(w, t.byteID[piece[i]])
	}
	w = append(w, t.byteEndID[piece[last]])
	if len(w) > shortPiece {
		return t.bpeLong(w)
	}
	return t.bpeShort(w)
}

// bpeShort merges the symbols w in place, in O(len(w)²) time.
func (t *Tokenizer) bpeShort(w []int32) []int32 {
	for len(w) > 1 {
		best := merge{rank: -1}
		var left, right int32
		for i := 0; i+1 < len(w); i++ {
			if m, ok := t.merges[pairKey(w[i], w[i+1])]; ok && (best.rank < 0 || m.rank < best.rank) {
				best, left, right = m, w[i], w[i+1]
			}
		}
		if best.rank < 0 {
			break
		}
		// Merge every occurrence, left to right, without overlap.
		n := 0
		for i := 0; i < len(w); n++ {
			if i+1 < len(w) && w[i] == left && w[i+1] == right {
				w[n] = best.id
				i += 2
			} else {
				w[n] = w[i]
				i++
			}
		}
		w = w[:n]
	}
	return w
}

// pairCand is a pair that may merge: the nodes left and right held the
// symbols a and b when it was queued.
type pairCand struct {
	rank, left, right, a, b int32
}

// candHeap orders candidates by rank, then from left to right.
type candHeap []pairCand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	return h[i].rank < h[j].rank || h[i].rank == h[j].rank && h[i].left < h[j].left
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(pairCand)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// bpeLong gives the same result as bpeShort in O(n log n) time, so that a
// long run of letters cannot stall Encode. The symbols are a linked list
// and the pairs a heap ordered by (rank, position). A round of bpeShort is
// the run of pops of one rank; a merge never makes a new pair of the same
// rank, and new pairs of lower rank wait in pending until the round ends,
// as they would wait for bpeShort's next round.
func (t *Tokenizer) bpeLong(w []int32) []int32 {
	n := int32(len(w))
	next := make([]int32, n)
	prev := make([]int32, n)
	for i := range n {
		next[i], prev[i] = i+1, i-1
	}
	next[n-1] = -1
	var h, pending candHeap
	round := int32(-1)
	queue := func(l int32) {
		r := next[l]
		if r < 0 {
			return
		}
		m, ok := t.merges[pairKey(w[l], w[r])]
		if !ok {
			return
		}
		c := pairCand{rank: m.rank, left: l, right: r, a: w[l], b: w[r]}
		if m.rank < round {
			pending = append(pending, c)
		} else {
			heap.Push(&h, c)
		}
	}
	for i := range n - 1 {
		queue(i)
	}
	for {
		for len(h) > 0 {
			c := h[0]
			if w[c.left] == c.a && next[c.left] == c.right && w[c.right] == c.b {
				break
			}
			heap.Pop(&h) // stale: a node has merged since
		}
		if len(h) == 0 || h[0].rank != round {
			if len(pending) > 0 {
				for _, c := range pending {
					heap.Push(&h, c)
				}
				pending = pending[:0]
				continue
			}
			if len(h) == 0 {
				break
			}
			round = h[0].rank
		}
		c := heap.Pop(&h).(pairCand)
		l, r := c.left, c.right
		w[l] = t.merges[pairKey(c.a, c.b)].id
		w[r] = -1
		next[l] = next[r]
		if next[r] >= 0 {
			prev[next[r]] = l
		}
		if prev[l] >= 0 {
			queue(prev[l])
		}
		queue(l)
	}
	out := w[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, w[i]) // i only grows, so this never overwrites a live node
	}
	return out
}

// Decode turns ids back into text, as CLIP's decode does: the bytes of each
// token are joined, invalid UTF-8 becomes U+FFFD, and every "</w>" becomes a
// space (so words are followed by one). Special tokens decode to their text,
// and padding zeros to "!" (id 0), so cut ids at EOT first. An id outside
// 0..VocabSize()-1 decodes to U+FFFD.
func (t *Tokenizer) Decode(ids []int) string {
	var raw []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.words) || t.words[id] == nil {
			raw = append(raw, "\uFFFD"...)
			continue
		}
		raw = append(raw, t.words[id]...)
	}
	raw = appendValidUTF8(nil, raw)
	return string(bytes.ReplaceAll(raw, []byte(wordEnd), []byte(" ")))
}

// cleanText prepares text for splitting as CLIP does, less ftfy: it replaces
// invalid UTF-8, unescapes HTML twice, strips and collapses white space, and
// lowercases.
func cleanText(text string) string {
	if !utf8.ValidString(text) {
		text = string(appendValidUTF8(nil, []byte(text)))
	}
	text = unescapeHTML(unescapeHTML(text))
	text = collapseSpace(text)
	return lowerPython(text)
}

// appendValidUTF8 appends b to dst with each maximal invalid UTF-8 subpart
// replaced by U+FFFD, the rule of Python's bytes.decode(errors="replace").
func appendValidUTF8(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			dst = append(dst, b[i])
			i++
			continue
		}
		if r, size := utf8.DecodeRune(b[i:]); r != utf8.RuneError || size > 1 {
			dst = append(dst, b[i:i+size]...)
			i += size
			continue
		}
		i += invalidPrefix(b[i:])
		dst = append(dst, "\uFFFD"...)
	}
	return dst
}

// invalidPrefix returns the length of the maximal subpart of an invalid UTF-8
// sequence at the start of p: the lead byte and the continuation bytes that
// could still have completed it.
func invalidPrefix(p []byte) int {
	need, lo, hi := 0, byte(0x80), byte(0xbf)
	switch c := p[0]; {
	case 0xc2 <= c && c <= 0xdf:
		need = 1
	case c == 0xe0:
		need, lo = 2, 0xa0
	case c == 0xed:
		need, hi = 2, 0x9f
	case 0xe1 <= c && c <= 0xef:
		need = 2
	case c == 0xf0:
		need, lo = 3, 0x90
	case c == 0xf4:
		need, hi = 3, 0x8f
	case 0xf1 <= c && c <= 0xf3:
		need = 3
	default:
		return 1
	}
	if len(p) < 2 || p[1] < lo || p[1] > hi {
		return 1
	}
	n := 2
	for n <= need && n < len(p) && 0x80 <= p[n] && p[n] <= 0xbf {
		n++
	}
	return n
}

// unescapeHTML replaces character references as Python's html.unescape
// does: &name; and the legacy names without ";" from the HTML5 table
// (longest known prefix of up to 32 characters), and &#N; / &#xH; with the
// Windows-1252 fix-ups for 0x80..0x9F, U+FFFD for 0, surrogates and values
// past U+10FFFF, and nothing for other control and non-characters.
func unescapeHTML(s string) string {
	amp := strings.IndexByte(s, '&')
	if amp < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for amp >= 0 {
		b = append(b, s[:amp]...)
		s = s[amp:]
		var n int
		b, n = appendCharRef(b, s)
		if n == 0 {
			b = append(b, '&')
			n = 1
		}
		s = s[n:]
		amp = strings.IndexByte(s, '&')
	}
	return string(append(b, s...))
}

// appendCharRef appends the replacement of the character reference at the
// start of s, which begins with '&', and returns how many bytes it took; 0
// means s starts with no reference and nothing was appended.
func appendCharRef(b []byte, s string) ([]byte, int) {
	if len(s) > 1 && s[1] == '#' {
		i, base := 2, 10
		if len(s) > 2 && (s[2] == 'x' || s[2] == 'X') {
			i, base = 3, 16
		}
		start := i
		num := 0
		for ; i < len(s); i++ {
			d := digitValue(s[i], base)
			if d < 0 {
				break
			}
			num = min(num*base+d, 0x110000) // saturate past the last code point
		}
		if i == start {
			return b, 0
		}
		if i < len(s) && s[i] == ';' {
			i++
		}
		return appendCodePoint(b, num), i
	}
	// A name: up to 32 characters other than tab, newline, form feed, space,
	// '<', '&', '#' and ';', then an optional ';'.
	i, count := 1, 0
	for i < len(s) && count < 32 {
		r, size := utf8.DecodeRuneInString(s[i:])
		if strings.ContainsRune("\t\n\f <&#;", r) {
			break
		}
		i += size
		count++
	}
	if count == 0 {
		return b, 0
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	// Go's html package has the same HTML5 table and the same longest-prefix
	// rule for legacy names, and s[:i] holds at most one reference.
	return append(b, html.UnescapeString(s[:i])...), i
}

func digitValue(c byte, base int) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case base == 16 && 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case base == 16 && 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// cp1252 maps the numeric references &#128; .. &#159; to the characters
// Windows-1252 puts there; the five bytes it leaves undefined map to themselves.
var cp1252 = [32]rune{
	0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
}

// appendCodePoint appends what a numeric reference to num stands for.
func appendCodePoint(b []byte, num int) []byte {
	switch {
	case num == 0, 0xd800 <= num && num <= 0xdfff, num > 0x10ffff:
		return append(b, "\uFFFD"...)
	case num == '\r':
		return append(b, '\r')
	case 0x80 <= num && num <= 0x9f:
		return utf8.AppendRune(b, cp1252[num-0x80])
	case num <= 0x08, num == 0x0b, 0x0e <= num && num <= 0x1f, num == 0x7f,
		0xfdd0 <= num && num <= 0xfdef, num&0xfffe == 0xfffe:
		return b // control characters and non-characters are dropped
	}
	return utf8.AppendRune(b, rune(num))
}

// isSpacePy reports whether Python's str.isspace is true for r: the white
// space of unicode.IsSpace and the separators U+001C..U+001F.
func isSpacePy(r rune) bool { return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f }

// collapseSpace strips the white space of Python's str.strip from both ends
// of s, then replaces each run of the white space of Python regex's \s
// (unicode.IsSpace) with one space.
func collapseSpace(s string) string {
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if !isSpacePy(r) {
			break
		}
		s = s[size:]
	}
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isSpacePy(r) {
			break
		}
		s = s[:len(s)-size]
	}
	clean, prevSpace := true, false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if space && (r != ' ' || prevSpace) {
			clean = false
			break
		}
		prevSpace = space
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	prevSpace = false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !prevSpace {
				b = append(b, ' ')
			}
			prevSpace = true
			continue
		}
		prevSpace = false
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// lowerPython lowercases s as Python's str.lower does: unicode.ToLower for
// each rune, except that U+0130 "İ" becomes "i̇" (U+0069 U+0307) and U+03A3
// "Σ" becomes final "ς" at the end of a word (the Final_Sigma rule).
func lowerPython(s string) string {
	ascii, upper := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if ascii {
		if !upper {
			return s
		}
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	b := make([]byte, 0, len(s)+8)
	for i, r := range s {
		switch r {
		case 0x130:
			b = append(b, "i\u0307"...)
		case 0x3a3:
			if finalSigma(s, i) {
				b = utf8.AppendRune(b, 0x3c2)
			} else {
				b = utf8.AppendRune(b, 0x3c3)
			}
		default:
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
	}
	return string(b)
}

// finalSigma reports whether the "Σ" at s[i:] ends a word: a cased letter
// comes before it and none after it, skipping case-ignorable characters
// (Unicode's Final_Sigma condition, as CPython tests it).
func finalSigma(s string, i int) bool {
	before := false
	for j := i; j > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:j])
		j -= size
		if !caseIgnorable(r) {
			before = isCased(r)
			break
		}
	}
	if !before {
		return false
	}
	for _, r := range s[i+len("Σ"):] {
		if !caseIgnorable(r) {
			return !isCased(r)
		}
	}
	return true
}

// isCased is Unicode's Cased property: Lu, Ll, Lt, Other_Lowercase and
// Other_Uppercase.
func isCased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// caseIgnorable is Unicode's Case_Ignorable property: Mn, Me, Cf, Lm, Sk and
// the characters of Word_Break MidLetter, MidNumLet and Single_Quote.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024,
		0x2027, 0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// contractions are the suffixes that CLIP's pattern splits off after "'",
// in the pattern's order.
var contractions = [...]string{"s", "t", "re", "ve", "m", "ll", "d"}

// Character classes of the splitting pattern.
const (
	classSkip   = iota // white space, and U+0345, which no branch matches
	classLetter        // \p{L}
	classNumber        // \p{N}
	classOther         // [^\s\p{L}\p{N}]
)

// ypogegrammeni is U+0345, a combining mark (Mn) whose case folding is a
// Greek letter: under Python regex's IGNORECASE, neither [\p{L}] nor
// [^\s\p{L}\p{N}] matches it, so CLIP's pattern drops it.
const ypogegrammeni = 0x345

func pieceClass(r rune) int {
	switch {
	case r < utf8.RuneSelf:
		c := byte(r)
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			return classLetter
		case '0' <= c && c <= '9':
			return classNumber
		case c == ' ' || '\t' <= c && c <= '\r':
			return classSkip
		}
		return classOther
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case r == ypogegrammeni || unicode.IsSpace(r):
		return classSkip
	}
	return classOther
}

// nextPiece finds the first piece of s at or after byte i, as CLIP's
// splitting pattern does (leftmost, first branch that matches). It returns
// start == end == len(s) when there is none.
func nextPiece(s string, i int) (start, end int) {
	for i < len(s) {
		switch s[i] {
		case '<':
			if n := matchFold(s[i:], SOTText); n > 0 {
				return i, i + n
			}
			if n := matchFold(s[i:], EOTText); n > 0 {
				return i, i + n
			}
		case '\'':
			for _, c := range contractions {
				if n := matchFold(s[i+1:], c); n > 0 {
					return i, i + 1 + n
				}
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		class := pieceClass(r)
		switch class {
		case classSkip:
			i += size
			continue
		case classNumber:
			return i, i + size
		}
		j := i + size
		for j < len(s) {
			r, size := utf8.DecodeRuneInString(s[j:])
			if pieceClass(r) != class {
				break
			}
			j += size
		}
		return i, j
	}
	return len(s), len(s)
}

// matchFold returns the length of the prefix of s that equals lit, an ASCII
// string, ignoring case as Python regex's IGNORECASE does (which lets "ſ",
// U+017F, match "s"), or 0 when there is none.
func matchFold(s, lit string) int {
	j := 0
	for k := 0; k < len(lit); k++ {
		c := lit[k]
		if j < len(s) && (s[j] == c || 'a' <= c && c <= 'z' && s[j] == c-'a'+'A') {
			j++
			continue
		}
		if c == 's' && strings.HasPrefix(s[j:], "ſ") {
			j += len("ſ")
			continue
		}
		return 0
	}
	return j
}
