// Package parallel runs indexed work over a fixed number of goroutines: the
// one loop the packages of neuronlens share for spreading images, texts or
// neurons over the cores.
package parallel

import (
	"context"
	"sync"
)

// For runs f(w, i) for every i in [0, n) on min(workers, n) goroutines
// (at least one); w is the index of the worker running the call, for
// per-worker scratch. Indices are handed out in increasing order. It stops
// handing out work at the first error or when ctx is done, and returns the
// error of the lowest failing index (ctx.Err() for work ctx stopped).
func For(ctx context.Context, n, workers int, f func(w, i int) error) error {
	if n <= 0 {
		return nil
	}
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
