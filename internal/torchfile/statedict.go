package torchfile

import (
	"archive/zip"
	"fmt"
	"regexp"
	"strings"

	"github.com/neuronlens/neuronlens/internal/pickle"
)

// maxModules bounds the module objects visited while flattening a
// TorchScript tree, so that shared subtrees in a hostile file cannot make
// the walk exponential.
const maxModules = 1 << 20

// collect finds the tensors of the saved object: a dict of tensors, a
// {"state_dict": dict} checkpoint, or a TorchScript module tree.
func collect(root any, code *codeIndex) (map[string]*ref, Kind, error) {
	refs := make(map[string]*ref)
	switch v := root.(type) {
	case *pickle.Dict:
		if inner, ok := v.Get("state_dict"); ok {
			if d, ok := inner.(*pickle.Dict); ok {
				v = d
			}
		}
		for _, it := range v.Items {
			k, ok1 := it.Key.(string)
			r, ok2 := it.Value.(*ref)
			if ok1 && ok2 {
				refs[strings.TrimPrefix(k, "module.")] = r
			}
		}
		if len(refs) == 0 {
			return nil, Unknown, fmt.Errorf("%w: the saved dict holds no tensors", ErrFormat)
		}
		return refs, Zip, nil
	case *pickle.Object:
		w := &walker{refs: refs, code: code, onPath: make(map[*pickle.Object]bool)}
		if strings.HasPrefix(v.Class.Module, "__torch__") {
			if err := w.module(v, ""); err != nil {
				return nil, Unknown, err
			}
			if len(refs) == 0 {
				return nil, Unknown, fmt.Errorf("%w: the TorchScript module holds no tensors", ErrFormat)
			}
			return refs, TorchScript, nil
		}
		if isPyModule(v) { // torch.save(model): a pickled nn.Module
			if err := w.pyModule(v, ""); err != nil {
				return nil, Unknown, err
			}
			if len(refs) == 0 {
				return nil, Unknown, fmt.Errorf("%w: the saved %s holds no tensors", ErrFormat, v.Class)
			}
			return refs, Zip, nil
		}
	}
	return nil, Unknown, fmt.Errorf("%w: the saved object is %s, not a state dict or a TorchScript module", ErrFormat, describe(root))
}

type walker struct {
	refs    map[string]*ref
	code    *codeIndex
	onPath  map[*pickle.Object]bool
	visited int
}

// module adds the parameters and buffers of o and of its submodules.
func (w *walker) module(o *pickle.Object, prefix string) error {
	if w.onPath[o] {
		return fmt.Errorf("%w: module %q contains itself", ErrFormat, strings.TrimSuffix(prefix, "."))
	}
	if w.visited++; w.visited > maxModules {
		return fmt.Errorf("%w: more than %d modules", ErrFormat, maxModules)
	}
	w.onPath[o] = true
	defer delete(w.onPath, o)
	attrs, ok := o.State.(*pickle.Dict)
	if !ok {
		return nil // a module without attributes
	}
	keep := w.code.tensorNames(o.Class)
	for _, it := range attrs.Items {
		name, ok := it.Key.(string)
		if !ok {
			continue
		}
		switch v := it.Value.(type) {
		case *ref:
			if keep != nil && !keep[name] {
				continue
			}
			// Without class definitions, keep every tensor but OpenAI's
			// attn_mask, a plain attribute rather than a buffer.
			if keep == nil && name == "attn_mask" {
				continue
			}
			w.refs[prefix+name] = v
		case *pickle.Object:
			if strings.HasPrefix(v.Class.Module, "__torch__") {
				if err := w.module(v, prefix+name+"."); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// codeIndex finds each TorchScript class's __parameters__ and __buffers__
// in <archive>/code/.
type codeIndex struct {
	b      []byte
	files  map[string]*zip.File
	prefix string
	cache  map[pickle.Global]map[string]bool
}

var quoted = regexp.MustCompile(`"([^"]*)"`)

// tensorNames returns the names of class's parameters and buffers, or nil
// when the archive does not define the class.
func (c *codeIndex) tensorNames(class pickle.Global) map[string]bool {
	if c == nil {
		return nil
	}
	if names, ok := c.cache[class]; ok {
		return names
	}
	if c.cache == nil {
		c.cache = make(map[pickle.Global]map[string]bool)
	}
	names := c.parse(class)
	c.cache[class] = names
	return names
}

func (c *codeIndex) parse(class pickle.Global) map[string]bool {
	f := c.files[c.prefix+"code/"+strings.ReplaceAll(class.Module, ".", "/")+".py"]
	if f == nil {
		return nil
	}
	src, err := entryBytes(c.b, f, 64<<20)
	if err != nil {
		return nil
	}
	_, body, ok := strings.Cut(string(src), "class "+class.Name+"(")
	if !ok {
		return nil
	}
	if i := strings.Index(body, "\nclass "); i >= 0 {
		body = body[:i]
	}
	var names map[string]bool
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "__parameters__ = ") && !strings.HasPrefix(line, "__buffers__ = ") {
			continue
		}
		if names == nil {
			names = make(map[string]bool)
		}
		for _, m := range quoted.FindAllStringSubmatch(line, -1) {
			names[m[1]] = true
		}
	}
	return names
}

// isPyModule reports whether o looks like a pickled torch.nn.Module: its
// state holds _parameters and _modules dicts.
func isPyModule(o *pickle.Object) bool {
	st, ok := o.State.(*pickle.Dict)
	if !ok {
		return false
	}
	_, p := st.Get("_parameters")
	_, m := st.Get("_modules")
	return p && m
}

// pyModule adds the parameters and persistent buffers of a pickled
// nn.Module and of its submodules, as module.state_dict() names them.
func (w *walker) pyModule(o *pickle.Object, prefix string) error {
	if w.onPath[o] {
		return fmt.Errorf("%w: module %q contains itself", ErrFormat, strings.TrimSuffix(prefix, "."))
	}
	if w.visited++; w.visited > maxModules {
		return fmt.Errorf("%w: more than %d modules", ErrFormat, maxModules)
	}
	w.onPath[o] = true
	defer delete(w.onPath, o)
	st := o.State.(*pickle.Dict)
	skip := map[string]bool{}
	if l, ok := get(st, "_non_persistent_buffers_set").(*pickle.List); ok {
		for _, n := range l.Items {
			if s, ok := n.(string); ok {
				skip[s] = true
			}
		}
	}
	for _, field := range []string{"_parameters", "_buffers"} {
		d, ok := get(st, field).(*pickle.Dict)
		if !ok {
			continue
		}
		for _, it := range d.Items {
			name, ok1 := it.Key.(string)
			r, ok2 := it.Value.(*ref)
			if ok1 && ok2 && !skip[name] {
				w.refs[prefix+name] = r
			}
		}
	}
	mods, ok := get(st, "_modules").(*pickle.Dict)
	if !ok {
		return nil
	}
	for _, it := range mods.Items {
		name, ok1 := it.Key.(string)
		m, ok2 := it.Value.(*pickle.Object)
		if ok1 && ok2 && isPyModule(m) {
			if err := w.pyModule(m, prefix+name+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

func get(d *pickle.Dict, key string) any {
	v, _ := d.Get(key)
	return v
}
