package adversarial

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// CachedDescriber answers each request once with its Describer and keeps
// the answer in a JSON file at Path; later calls with the same request, in
// this run or a later one, get the kept answer. It makes a describer that
// may answer differently each time (a language model with sampling) safe
// for the two runs of [Pipeline.Describe] and [Pipeline.Run]. A request is
// identified by all its fields. Safe for concurrent use.
type CachedDescriber struct {
	Describer Describer
	Path      string

	mu      sync.Mutex
	loaded  bool
	answers map[string][]string
}

// Describe returns the kept answer for r, or asks the Describer and keeps
// its answer. Errors: the Describer's, an unreadable or corrupt file (named;
// delete it to start over), a failed write.
func (c *CachedDescriber) Describe(ctx context.Context, r Request) ([]string, error) {
	if c.Describer == nil || c.Path == "" {
		return nil, errors.New("adversarial: CachedDescriber needs a Describer and a Path")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		c.answers = map[string][]string{}
		b, err := os.ReadFile(c.Path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("adversarial: %w", err)
		default:
			if err := json.Unmarshal(b, &c.answers); err != nil {
				return nil, fmt.Errorf("adversarial: description cache %s: %w", c.Path, err)
			}
		}
		c.loaded = true
	}
	key := requestKey(r)
	if ds, ok := c.answers[key]; ok {
		return append([]string(nil), ds...), nil
	}
	ds, err := c.Describer.Describe(ctx, r)
	if err != nil {
		return nil, err
	}
	c.answers[key] = append([]string(nil), ds...)
	b, err := json.MarshalIndent(c.answers, "", " ")
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	tmp := c.Path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	if err := os.Rename(tmp, c.Path); err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	return ds, nil
}

// requestKey is a readable, unambiguous key of every field of r: its JSON.
func requestKey(r Request) string {
	b, _ := json.Marshal(r) // strings, ints: cannot fail
	return string(b)
}
