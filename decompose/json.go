package decompose

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// WriteJSON writes the decompositions in the reference's layout: one object
// whose keys are the neuron indices as strings, in increasing order, each
// holding the list of that neuron's terms as [index, coef, text] triples,
// sorted by decreasing |coef|:
//
//	{"0": [[17, -0.61, "dog"], [4, 0.42, "cat"], ...], "1": [...], ...}
func (ds *Descriptions) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{")
	for n, dec := range ds.Neurons {
		if n > 0 {
			bw.WriteString(", ")
		}
		fmt.Fprintf(bw, "%q: [", strconv.Itoa(n))
		for i, t := range dec.Terms {
			if i > 0 {
				bw.WriteString(", ")
			}
			text, err := json.Marshal(t.Text)
			if err != nil {
				return fmt.Errorf("decompose: %w", err)
			}
			fmt.Fprintf(bw, "[%d, %s, %s]", t.Index, strconv.FormatFloat(t.Coef, 'g', -1, 64), text)
		}
		bw.WriteString("]")
	}
	bw.WriteString("}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("decompose: %w", err)
	}
	return nil
}

// Save writes [Descriptions.WriteJSON] to path atomically (a temporary file
// in the same folder, renamed).
func (ds *Descriptions) Save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".decompose-*.json")
	if err != nil {
		return fmt.Errorf("decompose: %w", err)
	}
	if err := ds.WriteJSON(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("decompose: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("decompose: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("decompose: %w", err)
	}
	return nil
}

// ReadJSON reads decompositions in the reference's layout (see
// [Descriptions.WriteJSON]), also as the reference's own scripts write them,
// and returns terms[n] for neuron n. Neurons must be numbered 0..N-1.
func ReadJSON(r io.Reader) ([][]Term, error) {
	var raw map[string][][3]json.RawMessage
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("decompose: %w", err)
	}
	out := make([][]Term, len(raw))
	seen := make([]bool, len(raw))
	for key, list := range raw {
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 || n >= len(raw) {
			return nil, fmt.Errorf("decompose: neuron key %q: want 0..%d", key, len(raw)-1)
		}
		if seen[n] {
			return nil, fmt.Errorf("decompose: neuron %d appears under two keys", n)
		}
		seen[n] = true
		terms := make([]Term, len(list))
		for i, e := range list {
			t := &terms[i]
			if err := json.Unmarshal(e[0], &t.Index); err != nil {
				return nil, fmt.Errorf("decompose: neuron %d term %d: index: %w", n, i, err)
			}
			if err := json.Unmarshal(e[1], &t.Coef); err != nil {
				return nil, fmt.Errorf("decompose: neuron %d term %d: coef: %w", n, i, err)
			}
			if err := json.Unmarshal(e[2], &t.Text); err != nil {
				return nil, fmt.Errorf("decompose: neuron %d term %d: text: %w", n, i, err)
			}
		}
		out[n] = terms
	}
	return out, nil
}
