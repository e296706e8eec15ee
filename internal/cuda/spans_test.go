package cuda

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSpans(t *testing.T) {
	var s spans
	s.add(300, 400)
	s.add(100, 200)
	s.add(500, 501)
	assert.Equal(t, spans{{100, 200}, {300, 400}, {500, 501}}, s)
	for _, tc := range []struct {
		start, end uintptr
		want       bool
	}{
		{100, 200, true}, {150, 160, true}, {199, 200, true}, {300, 400, true}, {500, 501, true},
		{99, 150, false}, {150, 201, false}, {200, 300, false}, {250, 260, false}, {0, 1, false},
		{399, 401, false}, {600, 700, false}, {100, 400, false},
	} {
		assert.Equal(t, tc.want, s.contains(tc.start, tc.end), "[%d, %d)", tc.start, tc.end)
	}
	s.remove(300)
	s.remove(301) // not a start: nothing happens
	assert.Equal(t, spans{{100, 200}, {500, 501}}, s)
	assert.False(t, s.contains(300, 310))
	s.remove(100)
	s.remove(500)
	assert.Empty(t, s)
	assert.False(t, s.contains(100, 101))
}
