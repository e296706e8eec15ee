package lens

import (
	"sync"
)

// parallelBlocks splits [0, n) into blocks contiguous ranges and runs f on
// each in its own goroutine.
func parallelBlocks(n, blocks int, f func(lo, hi int)) {
	if blocks <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for b := range blocks {
		lo, hi := b*n/blocks, (b+1)*n/blocks
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}
