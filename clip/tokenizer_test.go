package clip

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clipVocabPath is CLIP's merge list, third-party data kept outside the
// repository; tests that need it skip when it is absent.
const clipVocabPath = "../../shared/data/clip/bpe_simple_vocab_16e6.txt.gz"

// tokenGoldenPath is written by testdata/clip/tokens/make_tokens.py.
const tokenGoldenPath = "../testdata/clip/tokens/tokens.json"

var clipTokenizer = sync.OnceValues(func() (*Tokenizer, error) { return LoadTokenizer(clipVocabPath) })

// loadCLIPTokenizer returns the tokenizer of CLIP's own vocabulary, or skips.
func loadCLIPTokenizer(tb testing.TB) *Tokenizer {
	tb.Helper()
	if _, err := os.Stat(clipVocabPath); err != nil {
		tb.Skipf("CLIP vocabulary %s is absent (third-party data, not in the repository): %v", clipVocabPath, err)
	}
	tk, err := clipTokenizer()
	require.NoError(tb, err)
	return tk
}

type tokenGolden struct {
	Text  string `json:"text"`
	Clean string `json:"clean"`
	IDs   []int  `json:"ids"`
}

func loadTokenGoldens(tb testing.TB) []tokenGolden {
	tb.Helper()
	b, err := os.ReadFile(tokenGoldenPath)
	require.NoError(tb, err, "golden tokens are missing; run testdata/clip/tokens/make_tokens.py")
	var g []tokenGolden
	require.NoError(tb, json.Unmarshal(b, &g))
	require.NotEmpty(tb, g)
	return g
}

func goldenName(i int, text string) string {
	if utf8.RuneCountInString(text) > 24 {
		text = string([]rune(text)[:24])
	}
	return fmt.Sprintf("%02d_%q", i, text)
}

func TestTokenizerPhotoOfACat(t *testing.T) {
	tk := loadCLIPTokenizer(t)
	ids, err := tk.Encode("a photo of a cat", 77)
	require.NoError(t, err)
	want := make([]int, 77)
	copy(want, []int{49406, 320, 1125, 539, 320, 2368, 49407})
	assert.Equal(t, want, ids)
	assert.Equal(t, 49406, tk.SOT())
	assert.Equal(t, 49407, tk.EOT())
	assert.Equal(t, 49408, tk.VocabSize())
	assert.Equal(t, []int{320, 1125, 539, 320, 2368}, tk.Tokens("A Photo of a CAT"))
}

func TestTokenizerGolden(t *testing.T) {
	tk := loadCLIPTokenizer(t)
	for i, g := range loadTokenGoldens(t) {
		t.Run(goldenName(i, g.Text), func(t *testing.T) {
			assert.Equal(t, g.Clean, cleanText(g.Text), "cleaned text")
			ids, err := tk.Encode(g.Text, 77)
			require.NoError(t, err)
			assert.Equal(t, g.IDs, ids)
		})
	}
}

// TestTokenizerGoldenTruncation checks that the goldens cover truncation and
// that Encode agrees with Tokens on where it cuts.
func TestTokenizerGoldenTruncation(t *testing.T) {
	tk := loadCLIPTokenizer(t)
	long := 0
	for _, g := range loadTokenGoldens(t) {
		toks := tk.Tokens(g.Text)
		if len(toks)+2 <= 77 {
			continue
		}
		long++
		want := append([]int{tk.SOT()}, toks[:75]...)
		want = append(want, tk.EOT())
		assert.Equal(t, want, g.IDs, "%q", g.Text)
	}
	assert.GreaterOrEqual(t, long, 2, "goldens should hold texts longer than the context")
}

func TestTokenizerContextLength(t *testing.T) {
	tk := loadCLIPTokenizer(t)
	text := "one two three four five"
	tests := []struct {
		name    string
		context int
		want    []int
		wantErr bool
	}{
		{name: "negative", context: -1, wantErr: true},
		{name: "zero", context: 0, wantErr: true},
		{name: "one", context: 1, wantErr: true},
		{name: "two keeps SOT and EOT", context: 2, want: []int{49406, 49407}},
		{name: "cut", context: 4, want: []int{49406, 637, 1237, 49407}},
		{name: "exact", context: 7, want: []int{49406, 637, 1237, 2097, 2721, 3127, 49407}},
		{name: "one short", context: 6, want: []int{49406, 637, 1237, 2097, 2721, 49407}},
		{name: "padded", context: 9, want: []int{49406, 637, 1237, 2097, 2721, 3127, 49407, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := tk.Encode(text, tt.context)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "context length")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids)
		})
	}
}

func TestTokenizerDecode(t *testing.T) {
	tk := loadCLIPTokenizer(t)
	tests := []struct {
		name string
		ids  []int
		want string
	}{
		{name: "words", ids: tk.Tokens("a photo of a cat"), want: "a photo of a cat "},
		{name: "special", ids: []int{49406, 2368, 49407}, want: "<|startoftext|>cat <|endoftext|>"},
		{name: "accents", ids: tk.Tokens("Café naïve"), want: "café naïve "},
		{name: "emoji", ids: tk.Tokens("😀!"), want: "😀! "},
		{name: "half a character", ids: []int{int(tk.byteID[0xe2]), int(tk.byteID[0x82])}, want: "\uFFFD"},
		{name: "out of range", ids: []int{-1, 49408}, want: "\uFFFD\uFFFD"},
		{name: "padding is id 0", ids: []int{0}, want: "!"},
		{name: "empty", ids: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tk.Decode(tt.ids))
		})
	}
}

// writeHFVocab derives a Hugging Face vocab.json and merges.txt from CLIP's
// merge list into dir, with its own statement of CLIP's byte alphabet.
func writeHFVocab(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open(clipVocabPath)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	raw, err := io.ReadAll(zr)
	require.NoError(t, err)
	lines := strings.Split(string(raw), "\n")[1 : 1+49152-256-2]

	var alphabet []string // CLIP's bytes_to_unicode, in vocabulary order
	var rest []int
	for b := range 256 {
		if b >= '!' && b <= '~' || b >= 0xa1 && b <= 0xac || b >= 0xae {
			alphabet = append(alphabet, string(rune(b)))
		} else {
			rest = append(rest, b)
		}
	}
	for i := range rest {
		alphabet = append(alphabet, string(rune(256+i)))
	}
	vocab := map[string]int{}
	words := append([]string{}, alphabet...)
	for _, c := range alphabet {
		words = append(words, c+"</w>")
	}
	for _, l := range lines {
		words = append(words, strings.ReplaceAll(l, " ", ""))
	}
	words = append(words, "<|startoftext|>", "<|endoftext|>")
	for i, w := range words {
		vocab[w] = i
	}
	require.Len(t, vocab, 49408)
	vj, err := json.Marshal(vocab)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab.json"), vj, 0o644))
	merges := "#version: 0.2\n" + strings.Join(lines, "\n") + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "merges.txt"), []byte(merges), 0o644))
}

func TestTokenizerFormats(t *testing.T) {
	loadCLIPTokenizer(t)
	dir := t.TempDir()
	writeHFVocab(t, dir)

	f, err := os.Open(clipVocabPath)
	require.NoError(t, err)
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	raw, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	txt := filepath.Join(dir, "bpe_simple_vocab_16e6.txt")
	require.NoError(t, os.WriteFile(txt, raw, 0o644))

	fromReader, err := ReadBPE(bytes.NewReader(raw))
	require.NoError(t, err)
	vf, err := os.Open(filepath.Join(dir, "vocab.json"))
	require.NoError(t, err)
	defer vf.Close()
	mf, err := os.Open(filepath.Join(dir, "merges.txt"))
	require.NoError(t, err)
	defer mf.Close()
	fromHFReaders, err := ReadHFTokenizer(vf, mf)
	require.NoError(t, err)

	tests := []struct {
		name string
		load func() (*Tokenizer, error)
	}{
		{name: "HF directory", load: func() (*Tokenizer, error) { return LoadTokenizer(dir) }},
		{name: "HF vocab.json", load: func() (*Tokenizer, error) { return LoadTokenizer(filepath.Join(dir, "vocab.json")) }},
		{name: "HF readers", load: func() (*Tokenizer, error) { return fromHFReaders, nil }},
		{name: "uncompressed txt", load: func() (*Tokenizer, error) { return LoadTokenizer(txt) }},
		{name: "ReadBPE", load: func() (*Tokenizer, error) { return fromReader, nil }},
	}
	goldens := loadTokenGoldens(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := tt.load()
			require.NoError(t, err)
			assert.Equal(t, 49406, tk.SOT())
			assert.Equal(t, 49407, tk.EOT())
			assert.Equal(t, 49408, tk.VocabSize())
			for _, g := range goldens {
				ids, err := tk.Encode(g.Text, 77)
				require.NoError(t, err)
				assert.Equal(t, g.IDs, ids, "%q", g.Text)
			}
		})
	}
}

// tinyMerges is a small merge list in CLIP's format, for tests that must run
// without CLIP's vocabulary. With its first three merges, the vocabulary is
// the 512 byte symbols, "ab" (512), "abc</w>" (513), "cc" (514), SOT (515)
// and EOT (516).
const tinyMerges = "#version: 0.2\na b\nab c</w>\nc c\nx y\n"

func tinyTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tk, err := readBPE(strings.NewReader(tinyMerges), "tiny", 3, false)
	require.NoError(t, err)
	return tk
}

// byteIDs returns the ids CLIP's vocabulary gives each byte, from
// bytes_to_unicode's definition: printable bytes first, then the others.
func byteIDs() (plain, end [256]int) {
	n := 0
	for _, printable := range []bool{true, false} {
		for b := range 256 {
			if (b >= '!' && b <= '~' || b >= 0xa1 && b <= 0xac || b >= 0xae) == printable {
				plain[b], end[b] = n, n+256
				n++
			}
		}
	}
	return plain, end
}

func TestTokenizerTiny(t *testing.T) {
	tk := tinyTokenizer(t)
	plain, end := byteIDs()
	require.Equal(t, 515, tk.SOT())
	require.Equal(t, 516, tk.EOT())
	require.Equal(t, 517, tk.VocabSize())
	tests := []struct {
		name string
		text string
		want []int
	}{
		{name: "two merges", text: "abc", want: []int{513}},
		{name: "first merge only", text: "abd", want: []int{512, end['d']}},
		{name: "no merge", text: "ba", want: []int{plain['b'], end['a']}},
		{name: "left to right", text: "ccc", want: []int{514, end['c']}},
		{name: "end symbol blocks merge", text: "cc", want: []int{plain['c'], end['c']}},
		{name: "rank 3 is not used", text: "xy", want: []int{plain['x'], end['y']}},
		{name: "one byte", text: "a", want: []int{end['a']}},
		{name: "space byte", text: "a&#32;b", want: []int{end['a'], end['b']}},
		{name: "control byte", text: "\x01", want: []int{end[1]}},
		{name: "two-byte rune", text: "é", want: []int{plain[0xc3], end[0xa9]}},
		{name: "specials", text: "<|endoftext|>abc<|startoftext|>", want: []int{516, 513, 515}},
		{name: "uppercase", text: "ABC", want: []int{513}},
		{name: "empty", text: "", want: []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tk.Tokens(tt.text))
		})
	}
	ids, err := tk.Encode("abc ABC", 5)
	require.NoError(t, err)
	assert.Equal(t, []int{515, 513, 513, 516, 0}, ids)
	assert.Equal(t, "abc abc ", tk.Decode([]int{513, 513}))
}

func TestTokenizerByteAlphabet(t *testing.T) {
	plain, _ := byteIDs()
	seen := map[rune]bool{}
	for b := range 256 {
		r := byteRune(byte(b))
		assert.False(t, seen[r], "byte %#x: rune %U is used twice", b, r)
		seen[r] = true
		back, ok := symbolByte(r)
		assert.True(t, ok)
		assert.Equal(t, byte(b), back)
		if plain[b] >= 188 { // the 68 bytes that are not printable, in order
			assert.Equal(t, rune(256+plain[b]-188), r, "byte %#x", b)
		} else {
			assert.Equal(t, rune(b), r)
		}
	}
	for _, r := range []rune{0, ' ', 0xad, 0x144, 0x1000} {
		_, ok := symbolByte(r)
		assert.False(t, ok, "%U", r)
	}
}

func TestTokenizerLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write([]byte(tinyMerges))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	good := gz.Bytes()
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-6] ^= 0xff

	tinyVocab := func(drop string) []byte {
		v := map[string]int{}
		for b := range 256 {
			c := string(byteRune(byte(b)))
			v[c] = len(v)
			v[c+"</w>"] = len(v)
		}
		for _, w := range []string{"ab", "<|startoftext|>", "<|endoftext|>"} {
			v[w] = len(v)
		}
		if drop != "" {
			delete(v, drop)
		}
		j, err := json.Marshal(v)
		require.NoError(t, err)
		return j
	}
	hfDir := func(name string, vocab []byte, merges string) string {
		write(name+"/vocab.json", vocab)
		write(name+"/merges.txt", []byte(merges))
		return filepath.Join(dir, name)
	}

	tests := []struct {
		name  string
		path  string
		vocab bool   // whether the error wraps ErrVocab
		file  string // the file the error names; the base of path when empty
	}{
		{name: "missing file", path: filepath.Join(dir, "nope.txt.gz")},
		{name: "corrupt gzip header", path: write("corrupt.gz", []byte{0x1f, 0x8b, 1, 2, 3})},
		{name: "gzip bad checksum", path: write("crc.gz", badCRC)},
		{name: "gzip cut short", path: write("short.gz", good[:len(good)/2])},
		{name: "empty file", path: write("empty.txt", nil), vocab: true},
		{name: "three symbols", path: write("garbled.txt", []byte("#version: 0.2\na b c\n")), vocab: true},
		{name: "missing merges.txt", path: write("lone/vocab.json", tinyVocab("")), file: "merges.txt"},
		{name: "bad json", path: hfDir("badjson", []byte(`{"a": `), "a b\n"), vocab: true},
		{name: "json array", path: hfDir("array", []byte(`[1, 2]`), "a b\n"), vocab: true},
		{name: "no SOT", path: hfDir("nosot", tinyVocab("<|startoftext|>"), "a b\n"), vocab: true},
		{name: "no EOT", path: hfDir("noeot", tinyVocab("<|endoftext|>"), "a b\n"), vocab: true},
		{name: "no byte symbol", path: hfDir("nobyte", tinyVocab("a</w>"), "a b\n"), vocab: true},
		{name: "merge result unknown", path: hfDir("nomerge", tinyVocab(""), "a b\nb c\n"), vocab: true},
		{name: "garbled merge", path: hfDir("garbledhf", tinyVocab(""), "#version: 0.2\nab\n"), vocab: true},
		{name: "id out of range", path: hfDir("range", []byte(`{"a": 5}`), ""), vocab: true},
		{name: "duplicate id", path: hfDir("dup", []byte(`{"a": 0, "b": 0}`), ""), vocab: true},
	}
	// A merge list shorter than CLIP's is a vocabulary of its own size.
	few, err := LoadTokenizer(write("few.txt.gz", good))
	require.NoError(t, err)
	assert.Less(t, few.VocabSize(), 49408)
	assert.Equal(t, few.VocabSize()-1, few.EOT())
	header, err := LoadTokenizer(write("header.txt", []byte("#version: 0.2\n")))
	require.NoError(t, err)
	assert.Equal(t, 514, header.VocabSize())

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := LoadTokenizer(tt.path)
			require.Error(t, err)
			assert.Nil(t, tk)
			file := tt.file
			if file == "" {
				file = filepath.Base(tt.path)
			}
			assert.Contains(t, err.Error(), file, "the error should name the file")
			assert.Equal(t, tt.vocab, errors.Is(err, ErrVocab), "%v", err)
		})
	}

	t.Run("tiny HF directory loads", func(t *testing.T) {
		tk, err := LoadTokenizer(hfDir("ok", tinyVocab(""), "#version: 0.2\na b\n"))
		require.NoError(t, err)
		// tinyVocab numbers byte b's symbols 2b and 2b+1, then "ab" is 512.
		assert.Equal(t, []int{2*'a' + 1, 2*'b' + 1}, tk.Tokens("a b"))
		assert.Equal(t, []int{512, 2*'b' + 1}, tk.Tokens("abb"))
		assert.Equal(t, 515, tk.VocabSize())
		assert.Equal(t, 513, tk.SOT())
	})
}

func TestTokenizerUnescape(t *testing.T) {
	// Expected values are Python 3.11's html.unescape.
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "no entities", want: "no entities"},
		{name: "named", in: "&lt;b&gt; &amp; &quot;", want: `<b> & "`},
		{name: "once only", in: "&amp;amp;", want: "&amp;"},
		{name: "legacy prefix", in: "&notit; &ampfoo &amp", want: "¬it; &foo &"},
		{name: "full name wins", in: "&notin;", want: "∉"},
		{name: "two code points", in: "&NotEqualTilde;", want: "≂̸"},
		{name: "unknown", in: "&unknown; &; & x", want: "&unknown; &; & x"},
		{name: "decimal", in: "&#65;&#66&#x43;&#X44;", want: "ABCD"},
		{name: "no digits", in: "&#; &#x; &#xg", want: "&#; &#x; &#xg"},
		{name: "windows-1252", in: "&#128;&#x81;&#150;", want: "€\u0081–"},
		{name: "replacement", in: "&#0;&#xD800;&#x110000;&#99999999999999999999;", want: "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{name: "dropped", in: "a&#1;b&#x7f;c&#xFFFE;d&#xFDD0;e&#x10FFFF;f", want: "abcdef"},
		{name: "carriage return", in: "&#13;&#10;", want: "\r\n"},
		{name: "long name cut at 32", in: "&CounterClockwiseContourIntegral;", want: "∳"},
		{name: "unicode after name", in: "&ampé", want: "&é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, unescapeHTML(tt.in))
		})
	}
}

func TestTokenizerValidUTF8(t *testing.T) {
	// Expected counts of U+FFFD are Python's bytes.decode(errors="replace").
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "valid", in: "aé😀", want: "aé😀"},
		{name: "truncated three-byte", in: "\xe2\x82x", want: "\uFFFDx"},
		{name: "surrogate", in: "\xed\xa0\x80", want: "\uFFFD\uFFFD\uFFFD"},
		{name: "truncated four-byte", in: "\xf0\x9f\x98", want: "\uFFFD"},
		{name: "overlong", in: "\xc0\xaf", want: "\uFFFD\uFFFD"},
		{name: "past U+10FFFF", in: "\xf4\x90\x80\x80", want: "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{name: "overlong three-byte", in: "\xe0\x80\x80", want: "\uFFFD\uFFFD\uFFFD"},
		{name: "stray continuations", in: "a\x80\xbfb", want: "a\uFFFD\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(appendValidUTF8(nil, []byte(tt.in))))
		})
	}
}

func TestTokenizerClean(t *testing.T) {
	// Expected values are Python's html.unescape, strip, regex \s+ and lower.
	tests := []struct {
		name, in, want string
	}{
		{name: "spaces", in: " \t a \n\n b \u3000", want: "a b"},
		{name: "separators strip but do not split", in: "\x1ca\x1db\x1f", want: "a\x1db"},
		{name: "entity space", in: "a&nbsp;&nbsp;b&#32;", want: "a b"},
		{name: "dotted capital I", in: "İ", want: "i\u0307"},
		{name: "final sigma", in: "ΟΔΟΣ ΟΔΟΣ. Σ ΑΣΑ", want: "οδος οδος. σ ασα"},
		{name: "sigma before quote", in: "ΑΣ'", want: "ας'"},
		{name: "sigma before ignorable then letter", in: "ΑΣ'Α", want: "ασ'α"},
		{name: "invalid UTF-8", in: "a\xffB", want: "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, cleanText(tt.in))
		})
	}
	// Python's str.isspace.
	var py []rune
	for r := range rune(0x110000) {
		if isSpacePy(r) {
			py = append(py, r)
		}
	}
	assert.Equal(t, []rune{0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
		0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000}, py)
}

// pieceRegexp is CLIP's splitting pattern as Python regex applies it to
// cleaned text: IGNORECASE matters for the literals only, and U+0345 matches
// no branch.
var pieceRegexp = regexp.MustCompile(`(?i:<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d)|\p{L}+|\p{N}|[^\s\p{L}\p{N}\x{345}]+`)

func splitPieces(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		start, end := nextPiece(s, i)
		if start == end {
			break
		}
		out = append(out, s[start:end])
		i = end
	}
	return out
}

func TestTokenizerPieces(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "words", in: "a photo of a cat", want: []string{"a", "photo", "of", "a", "cat"}},
		{name: "contractions", in: "don't we'll i'm", want: []string{"don", "'t", "we", "'ll", "i", "'m"}},
		{name: "punctuation run", in: "hi!'s ...", want: []string{"hi", "!'", "s", "..."}},
		{name: "digits one by one", in: "3.14", want: []string{"3", ".", "1", "4"}},
		{name: "specials", in: "<|startoftext|>x!<|endoftext|>", want: []string{"<|startoftext|>", "x", "!<|", "endoftext", "|>"}},
		{name: "long s folds", in: "<|ſtartoftext|>'ſ", want: []string{"<|ſtartoftext|>", "'ſ"}},
		{name: "ypogegrammeni dropped", in: "aͅb ͅ!ͅ!", want: []string{"a", "b", "!", "!"}},
		{name: "separator is punctuation", in: "x\x1cy", want: []string{"x", "\x1c", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, splitPieces(tt.in))
			assert.Equal(t, tt.want, pieceRegexp.FindAllString(tt.in, -1), "regexp")
		})
	}
}

func TestTokenizerConcurrent(t *testing.T) {
	tk := loadCLIPTokenizer(t)
	goldens := loadTokenGoldens(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range goldens {
				g := goldens[(i+w)%len(goldens)]
				ids, err := tk.Encode(g.Text, 77)
				assert.NoError(t, err)
				assert.Equal(t, g.IDs, ids)
			}
		})
	}
	wg.Wait()
}

func FuzzEncode(f *testing.F) {
	if _, err := os.Stat(tokenGoldenPath); err == nil {
		for _, g := range loadTokenGoldens(f) {
			f.Add(g.Text, 77)
		}
	}
	f.Add("a photo of a cat", 2)
	f.Add("\xff\xfe&#x80;", 5)
	tk := loadCLIPTokenizer(f)
	f.Fuzz(func(t *testing.T, text string, context int) {
		context = 2 + (context&0xff)%100
		ids, err := tk.Encode(text, context)
		require.NoError(t, err)
		require.Len(t, ids, context)
		assert.Equal(t, tk.SOT(), ids[0])
		assert.Contains(t, ids, tk.EOT())
		for _, id := range ids {
			require.True(t, id >= 0 && id < tk.VocabSize(), "id %d", id)
		}
		clean := cleanText(text)
		require.True(t, utf8.ValidString(clean))
		assert.Equal(t, pieceRegexp.FindAllString(clean, -1), splitPieces(clean), "pieces of %q", clean)
		toks := tk.Tokens(text)
		n := min(len(toks), context-2)
		assert.Equal(t, toks[:n], ids[1:1+n])
		assert.Equal(t, tk.EOT(), ids[1+n])
	})
}

func FuzzReadBPE(f *testing.F) {
	f.Add([]byte(tinyMerges))
	f.Add([]byte(tinyMerges[:20]))
	f.Add([]byte("#version: 0.2\n\xc4\xa0 t\nt h\nth e</w>\n"))
	f.Add([]byte("#version: 0.2\na b c\n"))
	f.Add([]byte(""))
	f.Add([]byte("\n\n\n\n"))
	flipped := []byte(tinyMerges)
	flipped[17] ^= 0x20
	f.Add(flipped)
	f.Fuzz(func(t *testing.T, data []byte) {
		if tk, err := ReadBPE(bytes.NewReader(data)); err == nil {
			assert.Equal(t, clipVocabSize, tk.VocabSize())
		}
		tk, err := readBPE(bytes.NewReader(data), "fuzz", 4, false)
		if err != nil {
			assert.ErrorIs(t, err, ErrVocab)
			return
		}
		require.Equal(t, 512+4+2, tk.VocabSize())
		for _, text := range []string{"abc the cat", "<|endoftext|>é😀", string(data)} {
			ids, err := tk.Encode(text, 16)
			require.NoError(t, err)
			require.Len(t, ids, 16)
			for _, id := range ids {
				require.True(t, id >= 0 && id < tk.VocabSize(), "id %d", id)
			}
			_ = tk.Decode(ids)
		}
	})
}

// benchPrompts returns n short prompts in CLIP's zero-shot style.
func benchPrompts(n int) []string {
	templates := []string{"a photo of a %s.", "a blurry photo of the %s", "itap of my %s!", "a sketch of a %s", "a close-up photo of a %s in the wild"}
	classes := []string{"cat", "dog", "goldfish", "great white shark", "tiger shark", "hammerhead", "electric ray",
		"stingray", "rooster", "hen", "ostrich", "brambling", "goldfinch", "house finch", "junco", "indigo bunting",
		"American robin", "bulbul", "jay", "magpie", "chickadee", "water ouzel", "kite", "bald eagle", "vulture",
		"great grey owl", "fire salamander", "common newt", "eft", "spotted salamander", "axolotl", "bullfrog",
		"tree frog", "tailed frog", "loggerhead", "leatherback turtle", "mud turtle", "terrapin", "box turtle", "banded gecko"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(templates[i%len(templates)], classes[(i/len(templates))%len(classes)])
	}
	return out
}

// BenchmarkEncode encodes 1,000 short prompts per iteration with a warm cache.
func BenchmarkEncode(b *testing.B) {
	tk := loadCLIPTokenizer(b)
	prompts := benchPrompts(1000)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range prompts {
			if _, err := tk.Encode(p, 77); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(prompts))/b.Elapsed().Seconds(), "prompts/s")
}

// BenchmarkEncodeCold encodes the same prompts with an empty cache each time.
func BenchmarkEncodeCold(b *testing.B) {
	if _, err := os.Stat(clipVocabPath); err != nil {
		b.Skipf("CLIP vocabulary %s is absent: %v", clipVocabPath, err)
	}
	tk, err := LoadTokenizer(clipVocabPath)
	require.NoError(b, err)
	prompts := benchPrompts(1000)
	b.ReportAllocs()
	for b.Loop() {
		tk.cache = make(map[string][]int32)
		for _, p := range prompts {
			if _, err := tk.Encode(p, 77); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(prompts))/b.Elapsed().Seconds(), "prompts/s")
}

// TestTokenizerBPELong checks bpeLong against bpeShort on random words, with
// CLIP's merges when present and with random merge lists, whose ranks are
// out of order in ways that CLIP's are not.
func TestTokenizerBPELong(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var tokenizers []*Tokenizer
	names := []string{}
	if _, err := os.Stat(clipVocabPath); err == nil {
		tokenizers = append(tokenizers, loadCLIPTokenizer(t))
		names = append(names, "clip")
	}
	const alphabet = "abc"
	for k := range 20 {
		// Merges of random symbols made so far, in random order.
		syms := []string{"a", "b", "c", "a</w>", "b</w>", "c</w>"}
		var sb strings.Builder
		sb.WriteString("#version: 0.2\n")
		for range 30 {
			x, y := syms[rng.IntN(len(syms))], syms[rng.IntN(len(syms))]
			if strings.HasSuffix(x, "</w>") {
				x, y = y, x
			}
			if strings.HasSuffix(x, "</w>") {
				continue
			}
			fmt.Fprintf(&sb, "%s %s\n", x, y)
			syms = append(syms, x+y)
		}
		lines := strings.Count(sb.String(), "\n") - 1
		tk, err := readBPE(strings.NewReader(sb.String()), "random", lines, false)
		require.NoError(t, err)
		tokenizers = append(tokenizers, tk)
		names = append(names, fmt.Sprintf("random%02d", k))
	}
	for i, tk := range tokenizers {
		t.Run(names[i], func(t *testing.T) {
			for range 300 {
				word := make([]byte, 1+rng.IntN(200))
				for j := range word {
					word[j] = alphabet[rng.IntN(len(alphabet))]
				}
				if names[i] == "clip" && rng.IntN(2) == 0 {
					for j := range word {
						word[j] = byte('a' + rng.IntN(26))
					}
				}
				var w []int32
				for j, b := range word {
					if j == len(word)-1 {
						w = append(w, tk.byteEndID[b])
					} else {
						w = append(w, tk.byteID[b])
					}
				}
				short := tk.bpeShort(slices.Clone(w))
				long := tk.bpeLong(slices.Clone(w))
				require.Equal(t, short, long, "%s", word)
			}
		})
	}
}

// TestTokenizerLongPiece checks that a long run of letters stays fast: the
// plain BPE loop takes seconds on 100,000 letters.
func TestTokenizerLongPiece(t *testing.T) {
	tk := loadCLIPTokenizer(t)
	rng := rand.New(rand.NewPCG(5, 6))
	word := make([]byte, 100_000)
	for i := range word {
		word[i] = byte('a' + rng.IntN(26))
	}
	ids, err := tk.Encode(string(word), 77)
	require.NoError(t, err)
	assert.Equal(t, tk.EOT(), ids[76])
}

func TestReadBPEMerges(t *testing.T) {
	all, err := ReadBPEMerges(strings.NewReader(tinyMerges), -1)
	require.NoError(t, err)
	assert.Equal(t, 512+4+2, all.VocabSize())
	assert.Equal(t, 512+4, all.SOT())
	assert.Equal(t, 512+5, all.EOT())
	assert.Equal(t, []int{512 + 1}, all.Tokens("abc"), "a b, then ab c</w>")
	three, err := ReadBPEMerges(strings.NewReader(tinyMerges), 3)
	require.NoError(t, err)
	assert.Equal(t, 512+3+2, three.VocabSize())
	_, err = ReadBPEMerges(strings.NewReader(tinyMerges), 5)
	assert.ErrorIs(t, err, ErrVocab)
	none, err := ReadBPEMerges(strings.NewReader("#version: 0.2\n"), -1)
	require.NoError(t, err)
	assert.Equal(t, 514, none.VocabSize())
}
