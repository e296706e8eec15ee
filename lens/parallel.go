package lens

import (
	"context"
	"sync"
)

// parallel runs f(w, i) for i in 0..n-1 on workers goroutines; w is the
// worker's index (for per-worker scratch). It stops at the first error or
// when ctx is done and returns the error of the lowest index.
func parallel(ctx context.Context, n, workers int, f func(w, i int) error) error {
	workers = max(1, min(workers, n))
	var (
		mu    sync.Mutex
		next  int
		first = n
		ferr  error
		wg    sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := ferr != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = f(w, i)
				}
				if err != nil {
					mu.Lock()
					if i < first {
						first, ferr = i, err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return ferr
}

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
