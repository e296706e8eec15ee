package cuda

import "sort"

// span is an address range [start, end).
type span struct{ start, end uintptr }

// spans is a set of disjoint address ranges sorted by start: a context's
// page-locked allocations, so that a transfer can tell whether a host slice
// lies in one (and needs no staging copy).
type spans []span

// add inserts [start, end), which overlaps none of s.
func (s *spans) add(start, end uintptr) {
	i := sort.Search(len(*s), func(i int) bool { return (*s)[i].start >= start })
	*s = append(*s, span{})
	copy((*s)[i+1:], (*s)[i:])
	(*s)[i] = span{start, end}
}

// remove deletes the range that begins at start, if any.
func (s *spans) remove(start uintptr) {
	i := sort.Search(len(*s), func(i int) bool { return (*s)[i].start >= start })
	if i < len(*s) && (*s)[i].start == start {
		*s = append((*s)[:i], (*s)[i+1:]...)
	}
}

// contains reports whether [start, end) lies inside one range of s.
func (s spans) contains(start, end uintptr) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].start > start }) - 1
	return i >= 0 && end <= s[i].end
}
