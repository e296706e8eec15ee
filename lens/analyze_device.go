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
	// their layer's pool once its records are made.
	r.soPools = make([]sync.Pool, len(r.layers))
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
				pa, _ := dev.(projAccel)
				for j, l := range r.layers {
					dst, _ := r.soPools[j].Get().(*cuda.SecondOrder)
					var so *cuda.SecondOrder
					var err error
					if pa != nil && !r.cfg.noShared {
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
		r.soPools[j].Put(so)
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

// floatPool recycles float32 buffers of length n.
type floatPool struct {
	n int
	p sync.Pool
}

func (p *floatPool) get() []float32 {
	if b, ok := p.p.Get().(*[]float32); ok {
		return *b
	}
	return make([]float32, p.n)
}

// put returns b to the pool; b must not be used afterwards.
func (p *floatPool) put(b []float32) {
	if cap(b) >= p.n {
		b = b[:p.n]
		p.p.Put(&b)
	}
}
