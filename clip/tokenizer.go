package clip

import "errors"

// Tokenizer is CLIP's byte-level BPE tokenizer. (Placeholder: replaced by the tokenizer work.)
type Tokenizer struct{}

// LoadTokenizer reads a vocabulary. (Placeholder.)
func LoadTokenizer(path string) (*Tokenizer, error) {
	return nil, errors.New("clip: tokenizer not implemented")
}

// Encode tokenizes text into exactly contextLength ids. (Placeholder.)
func (t *Tokenizer) Encode(text string, contextLength int) ([]int, error) {
	return nil, errors.New("clip: tokenizer not implemented")
}
