package clip

import "sync"

// Derived returns the value cached on m under key, building it with build
// on first use. Packages that precompute image-independent quantities from
// the weights (the lens's per-head u vectors, say) keep them here, so they
// live exactly as long as the model. Keys should be values of an unexported
// type of the calling package, as with context.Context. Concurrent callers
// with the same key get the same value; build runs at most once per key
// unless it returns an error, which is not cached.
func (m *Model) Derived(key any, build func() (any, error)) (any, error) {
	if v, ok := m.derived.Load(key); ok {
		return v.(*derivedEntry).get(build)
	}
	v, _ := m.derived.LoadOrStore(key, &derivedEntry{})
	return v.(*derivedEntry).get(build)
}

type derivedEntry struct {
	mu    sync.Mutex
	done  bool
	value any
}

func (e *derivedEntry) get(build func() (any, error)) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return e.value, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	e.value, e.done = v, true
	return v, nil
}
