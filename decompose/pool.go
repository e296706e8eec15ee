package decompose

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Pool is a text pool: the descriptions a neuron is decomposed into, one per
// entry, in file order. Texts[i] is text i; the index is the one that
// [Term.Index] and the JSON output report.
type Pool struct {
	Texts []string
}

// ReadPool reads a text pool: one description per line, trailing white
// space (spaces, tabs, "\r") stripped, empty lines skipped. Leading white
// space is kept; the tokenizer collapses it. It returns an error if reading
// fails or no line is left.
//
// Skipped empty lines shift the indices of the texts after them, which then
// differ from the line numbers (the reference keeps empty lines as texts).
func ReadPool(r io.Reader) (*Pool, error) { return readPool(r, "text pool") }

func readPool(r io.Reader, name string) (*Pool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	p := &Pool{}
	for sc.Scan() {
		s := strings.TrimRight(sc.Text(), " \t\r\n\v\f")
		if s != "" {
			p.Texts = append(p.Texts, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("decompose: %s: %w", name, err)
	}
	if len(p.Texts) == 0 {
		return nil, fmt.Errorf("decompose: %s: %w", name, ErrEmptyPool)
	}
	return p, nil
}

// ErrEmptyPool is returned, wrapped, for a text pool without a text.
var ErrEmptyPool = errors.New("no text in the pool")

// LoadPool reads the text pool at path (see [ReadPool]); errors name the
// file.
func LoadPool(path string) (*Pool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("decompose: %w", err)
	}
	defer f.Close()
	return readPool(f, path)
}

// Fingerprint returns a hex SHA-256 of the pool's texts (each followed by a
// newline): equal for pools with the same texts in the same order.
func (p *Pool) Fingerprint() string {
	h := sha256.New()
	for _, s := range p.Texts {
		io.WriteString(h, s)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
