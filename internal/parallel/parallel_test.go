package parallel

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestForVisitsEveryIndexOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 100} {
		seen := make([]int32, 57)
		err := For(t.Context(), len(seen), workers, func(w, i int) error {
			assert.GreaterOrEqual(t, w, 0)
			assert.Less(t, w, max(1, min(workers, len(seen))))
			atomic.AddInt32(&seen[i], 1)
			return nil
		})
		assert.NoError(t, err)
		for i, c := range seen {
			assert.Equal(t, int32(1), c, "workers %d index %d", workers, i)
		}
	}
	assert.NoError(t, For(t.Context(), 0, 2, func(w, i int) error { panic("called") }))
}

func TestForReturnsLowestError(t *testing.T) {
	err := For(t.Context(), 100, 4, func(_, i int) error {
		if i == 7 || i == 40 {
			return fmt.Errorf("index %d", i)
		}
		return nil
	})
	assert.EqualError(t, err, "index 7")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = For(ctx, 10, 2, func(_, i int) error { return errors.New("ran") })
	assert.ErrorIs(t, err, context.Canceled)
}
