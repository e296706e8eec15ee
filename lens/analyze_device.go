package lens

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/clip/cuda"
	"github.com/neuronlens/neuronlens/internal/parallel"
)

// devBatch is one device batch of Analyze's first phase, images [lo, hi).
type devBatch struct {
	lo, hi int
	ids    []string
	recs   [][]float32 // flat records, cached or computed
	cached []bool
	todo   []int       // positions (i - lo) of the images to compute
	pixels [][]float32 // their pixels, in todo order
	sos    []*cuda.SecondOrder
}

// pipelineTimes say where the device path's first phase spent its time,
// stage by stage (benchmarks read them through pipelineHook): the stages
// overlap, so the shares tell which one bounds the rest.
type pipelineTimes struct {
	Wall    time.Duration // the whole phase
	Prepare time.Duration // reading and preprocessing the batches
	Device  time.Duration // inside the device's calls (transfers and copies included)
	Starved time.Duration // the device stage waiting for a prepared batch
	Blocked time.Duration // the device stage waiting for the host to take its results
	Finish  time.Duration // records, cache writes and sums of the finished batches
	Batches int
}

// pipelineHook, when set (by benchmarks), receives each device phase's
// pipelineTimes.
var pipelineHook func(pipelineTimes)

// pageLockedBatches is the fewest device batches for which Analyze's first
// phase takes page-locked memory from a device that offers it (hostAccel).
// On an H200 machine (ViT-B/32 layer 9, batches of 64) the memory saved
// about 4.4 ms per batch of host copies and cost about 65 ms to allocate:
// over 512 images it was 25% slower, over 2,048 images 12% faster.
var pageLockedBatches = 16

// onDevice is Analyze's first phase on the device, a three-stage pipeline:
// reading and preprocessing the images of batch b+1 (over the workers),
// the device's forward passes of batch b, and on the host the records of
// batch b-1 (alpha-space, as secondU.record makes them), stored in the
// cache and added to the sums in image order.
func (r *runner) onDevice(ctx context.Context, dev accel, ids []string, sums []*Sums, meter *meter) error {
	M, B := r.src.Len(), dev.batch()
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// A stage's error stops everything; the caller's cancellation stops
	// the stages, but batches the device has finished are still stored, so
	// that a resumed run reuses them.
	var failed atomic.Bool
	fail := func(err error) {
		if parent.Err() == nil {
			failed.Store(true)
		}
		cancel(err)
	}
	// The device's results are tens of megabytes per batch and layer: like
	// the records and pixels, they are recycled, a batch's going back to
	// their layer's pool once its records are made. A device that offers
	// page-locked memory gets the pixels and its largest results (the
	// alphas and their projection) in it, which it moves without a copy
	// through its own; that memory lives for this phase.
	r.soPools = make([]freeList[*cuda.SecondOrder], len(r.layers))
	defer func() { // not kept for the later phases
		r.soPools = nil
		r.pxPool.release(nil)
	}()
	newSO := func(int) *cuda.SecondOrder { return nil }
	pa, _ := dev.(projAccel)
	withProj := pa != nil && !r.cfg.noShared
	if h, ok := dev.(hostAccel); ok && M >= pageLockedBatches*B {
		cpuPool := r.pxPool
		r.pxPool = &floatPool{n: cpuPool.n, alloc: h.pageLocked}
		// Made here, before the stages start: at most three batches' pixels
		// are in use at once (being prepared, waiting, on the device), and
		// allocations during the phase would wait for the device's calls.
		// (On an H200 machine, allocating them one by one cost more than
		// the copies they save over 512 images.)
		r.pxPool.fill(3 * B)
		var pinned [][]float32 // the results' arrays
		alloc := func(n int) []float32 {
			b := h.pageLocked(n)
			if b != nil {
				pinned = append(pinned, b)
			}
			return b // nil: the device allocates ordinary memory
		}
		newSO = func(j int) *cuda.SecondOrder {
			n := B * r.us[j].N * r.us[j].K
			if n == 0 {
				return nil
			}
			if !withProj {
				return &cuda.SecondOrder{Alpha: alloc(n)}
			}
			if a := alloc(2 * n); a != nil { // one allocation for both
				return &cuda.SecondOrder{Alpha: a[:n:n], Proj: a[n:]}
			}
			return nil
		}
		defer func() { // after the stages below have ended
			r.pxPool.release(h.freePageLocked)
			r.pxPool = cpuPool
			for _, b := range pinned {
				h.freePageLocked(b)
			}
		}()
	}
	var wg sync.WaitGroup
	var times pipelineTimes
	start := time.Now()
	prepped, computed := make(chan *devBatch, 1), make(chan *devBatch, 1)
	wg.Go(func() {
		defer close(prepped)
		for lo := 0; lo < M; lo += B {
			t0 := time.Now()
			bt, err := r.prepare(ctx, lo, min(lo+B, M))
			times.Prepare += time.Since(t0)
			if err != nil {
				fail(err)
				return
			}
			select {
			case prepped <- bt:
			case <-ctx.Done():
				return
			}
		}
	})
	wg.Go(func() {
		defer close(computed)
		for {
			t0 := time.Now()
			bt, ok := <-prepped
			times.Starved += time.Since(t0)
			if !ok {
				return
			}
			t0 = time.Now()
			if len(bt.todo) > 0 {
				times.Batches++
				for j, l := range r.layers {
					dst, ok := r.soPools[j].get()
					if !ok {
						dst = newSO(j)
					}
					var so *cuda.SecondOrder
					var err error
					if withProj {
						so, err = pa.secondOrderProj(ctx, dst, bt.pixels, l, r.bases[j])
					} else {
						so, err = dev.secondOrder(ctx, dst, bt.pixels, l, nil)
					}
					if err != nil {
						fail(err)
						return
					}
					bt.sos[j] = so
				}
				for _, p := range bt.pixels {
					r.pxPool.put(p)
				}
				bt.pixels = nil
			}
			t1 := time.Now()
			times.Device += t1.Sub(t0)
			select {
			case computed <- bt:
			case <-ctx.Done():
				return
			}
			times.Blocked += time.Since(t1)
		}
	})
	done := 0
	for bt := range computed {
		if failed.Load() {
			continue // drain
		}
		t0 := time.Now()
		if err := r.finishBatch(context.WithoutCancel(ctx), bt); err != nil {
			fail(err)
			continue
		}
		views := make([][]layerView, len(bt.recs))
		for k, rec := range bt.recs {
			ids[bt.lo+k] = bt.ids[k]
			_, views[k] = r.cache.split(rec)
		}
		for j := range r.layers {
			sums[j].addBatch(views, j, r.cfg.workers)
		}
		for k, rec := range bt.recs {
			r.recPool.put(rec)
			done++
			if bt.cached[k] {
				meter.skip++
			}
			meter.report(done)
		}
		times.Finish += time.Since(t0)
	}
	wg.Wait()
	times.Wall = time.Since(start)
	if pipelineHook != nil {
		pipelineHook(times)
	}
	return context.Cause(ctx)
}

// prepare reads the cached records of images [lo, hi) and the pixels of
// the others.
func (r *runner) prepare(ctx context.Context, lo, hi int) (*devBatch, error) {
	n := hi - lo
	bt := &devBatch{lo: lo, hi: hi, ids: make([]string, n), recs: make([][]float32, n), cached: make([]bool, n),
		sos: make([]*cuda.SecondOrder, len(r.layers))}
	px := make([][]float32, n)
	S := r.m.Config.Vision.ImageSize
	err := parallel.For(ctx, n, r.cfg.workers, func(_, k int) error {
		i := lo + k
		id, err := idOf(r.src, i)
		if err != nil {
			return fmt.Errorf("lens: image %d: %w", i, err)
		}
		buf := r.recPool.get()
		if rec, ok := r.cache.load(i, id, buf); ok {
			bt.ids[k], bt.recs[k], bt.cached[k] = id, rec, true
			return nil
		}
		r.recPool.put(buf)
		id, img, err := r.src.Image(i)
		if err != nil {
			return fmt.Errorf("lens: image %d (%s): %w", i, id, err)
		}
		p := r.pxPool.get()
		if err := clip.PreprocessTo(p, img, S); err != nil {
			r.pxPool.put(p)
			return fmt.Errorf("lens: image %d (%s): %w", i, id, err)
		}
		bt.ids[k], px[k] = id, p
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, p := range px {
		if p != nil {
			bt.todo = append(bt.todo, k)
			bt.pixels = append(bt.pixels, p)
		}
	}
	return bt, nil
}

// finishBatch turns the device's results of a batch into flat records and
// stores them in the cache, one image per worker at a time (the record is
// written to disk while it is still in the worker's cache).
func (r *runner) finishBatch(ctx context.Context, bt *devBatch) error {
	n := len(bt.todo)
	if n == 0 {
		return nil
	}
	for j, u := range r.us {
		if !r.cfg.noShared {
			u.hostProj(r.bases[j], bt.sos[j], r.cfg.workers)
		}
	}
	d := r.cache.d
	err := parallel.For(ctx, n, r.cfg.workers, func(_, t int) error {
		rec := r.recPool.get() // every value is written below
		f, views := r.cache.split(rec)
		copy(f, bt.sos[0].Emb[t*d:(t+1)*d])
		for j, u := range r.us {
			lv := views[j]
			u.deviceRecord(r.bases[j], lv.A, lv.W, lv.C, bt.sos[j], t, r.cfg)
		}
		k := bt.todo[t]
		if err := r.cache.store(bt.lo+k, bt.ids[k], rec); err != nil {
			return err
		}
		bt.recs[k] = rec
		return nil
	})
	for j, so := range bt.sos {
		r.soPools[j].put(so)
	}
	bt.sos = nil
	return err
}

// deviceSecondBatch is secondBatch on the device: batches of images go
// through the device, which returns their effects' products; the host adds
// the shared term and builds the matrices of one batch while the device
// works on the next.
func deviceSecondBatch(ctx context.Context, m *clip.Model, dev accel, u *secondU, n int, cfg *config, px func(int) ([]float32, error)) ([]*mat.Dense, error) {
	bs, err := basisOf(m, u)
	if err != nil {
		return nil, err
	}
	vc := m.Config.Vision
	want := 3 * vc.ImageSize * vc.ImageSize
	B := dev.batch()
	out := make([]*mat.Dense, n)
	type result struct {
		lo int
		so *cuda.SecondOrder
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	results := make(chan result, 1)
	// The device's results (the effects alone are B·N·d floats, 400 MB for
	// 64 images of ViT-B/32) are recycled once turned into matrices.
	var free sync.Pool
	wg.Go(func() {
		defer close(results)
		for lo := 0; lo < n; lo += B {
			hi := min(lo+B, n)
			pixels := make([][]float32, hi-lo)
			err := parallel.For(ctx, hi-lo, cfg.workers, func(_, k int) error {
				p, err := px(lo + k)
				if err == nil && len(p) != want {
					err = fmt.Errorf("clip: pixels have %d values, want 3×%d×%d", len(p), vc.ImageSize, vc.ImageSize)
				}
				if err != nil {
					return fmt.Errorf("lens: image %d: %w", lo+k, err)
				}
				pixels[k] = p
				return nil
			})
			var so *cuda.SecondOrder
			if err == nil {
				dst, _ := free.Get().(*cuda.SecondOrder)
				so, err = dev.secondOrder(ctx, dst, pixels, u.layer, u)
			}
			if err != nil {
				cancel(err)
				return
			}
			select {
			case results <- result{lo, so}:
			case <-ctx.Done():
				return
			}
		}
	})
	for res := range results {
		if ctx.Err() != nil {
			continue
		}
		err := parallel.For(ctx, res.so.B, cfg.workers, func(_, b int) error {
			out[res.lo+b] = mat.NewDense(u.N, u.d, u.deviceEffects(bs, res.so, b, cfg))
			return nil
		})
		if err != nil {
			cancel(err)
		}
		free.Put(res.so)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// freeList recycles values of T. Unlike a sync.Pool, whose contents the
// garbage collector may drop, it keeps every value put back, so that
// memory that is costly to make (page-locked memory, fresh arrays of tens
// of megabytes) is made only as often as the most values in use at once.
type freeList[T any] struct {
	mu    sync.Mutex
	items []T
}

func (f *freeList[T]) get() (T, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var zero T
	k := len(f.items)
	if k == 0 {
		return zero, false
	}
	x := f.items[k-1]
	f.items[k-1] = zero
	f.items = f.items[:k-1]
	return x, true
}

func (f *freeList[T]) put(x T) {
	f.mu.Lock()
	f.items = append(f.items, x)
	f.mu.Unlock()
}

// floatPool recycles float32 buffers of length n. With alloc set, new
// buffers come from alloc (page-locked memory for the device), or from
// make where alloc returns nil, and release hands every buffer alloc made
// to free.
type floatPool struct {
	n     int
	alloc func(n int) []float32
	free  freeList[[]float32]
	mu    sync.Mutex
	made  [][]float32 // by alloc
}

func (p *floatPool) get() []float32 {
	if b, ok := p.free.get(); ok {
		return b
	}
	if p.alloc != nil {
		if b := p.alloc(p.n); b != nil {
			p.mu.Lock()
			p.made = append(p.made, b)
			p.mu.Unlock()
			return b
		}
	}
	return make([]float32, p.n)
}

// fill puts k new buffers into the pool, cut from one allocation of alloc
// (page-locked memory costs per allocation as well as per byte), or none
// when alloc fails.
func (p *floatPool) fill(k int) {
	a := p.alloc(k * p.n)
	if a == nil {
		return
	}
	p.mu.Lock()
	p.made = append(p.made, a)
	p.mu.Unlock()
	for i := range k {
		p.free.put(a[i*p.n : (i+1)*p.n : (i+1)*p.n])
	}
}

// put returns b to the pool; b must not be used afterwards.
func (p *floatPool) put(b []float32) {
	if cap(b) >= p.n {
		p.free.put(b[:p.n])
	}
}

// release empties the pool and hands the buffers alloc made to free (when
// not nil); none may be in use.
func (p *floatPool) release(free func([]float32)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.made {
		if free != nil {
			free(b)
		}
	}
	p.made = nil
	p.free = freeList[[]float32]{}
}
