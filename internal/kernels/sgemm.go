package kernels

import (
	"runtime"
	"sync"
)

// microKernel is one register-blocked inner kernel of the packed Sgemm:
//
//	C[0:mr, 0:nr] += Σ_p a[p*mr+i]·b[p*nr+j]   for p < kc
//
// where a is an mr-row micro-panel of packed A (column by column) and b an
// nr-column micro-panel of packed B (row by row); c has row stride ldc.
// The kernel assumes len(a) ≥ kc·mr, len(b) ≥ kc·nr and that the whole
// mr×nr tile of c is in range.
type microKernel struct {
	name   string
	mr, nr int
	fn     func(kc int, a, b, c []float32, ldc int)
}

// Cache blocking: a kc×nc block of op(B) and an mc×kc block of op(A) are
// packed at a time; nr-wide micro-panels of B stay in L1 while the A block
// streams from L2.
const (
	blockK = 256
	blockM = 144
	blockN = 3072
)

// parallelFlops is the smallest m·n·k product that is split across
// goroutines; below it the goroutine start-up costs more than it saves.
const parallelFlops = 1 << 19

// packBuf holds one goroutine's packed panels and its edge tile.
type packBuf struct {
	a, b, tile []float32
}

var packPool = sync.Pool{New: func() any { return new(packBuf) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// gemm computes C = alpha·op(A)·op(B) + beta·C with op(A) m×k and op(B)
// k×n, all row-major with leading dimensions lda, ldb, ldc. The arguments
// are checked by the caller. Work is split across up to maxWorkers
// goroutines when the product is large enough.
func (mk *microKernel) gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, maxWorkers int) {
	splitGemm(tA, tB, m, n, k, a, lda, b, ldb, c, ldc, mk.mr, mk.nr, maxWorkers,
		func(m, n int, a, b, c []float32) {
			mk.serial(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		})
}

// splitGemm calls part once per block of a product C (m×n) = op(A)·op(B),
// with the block's size and its offsets into a, b and c: one call on the
// calling goroutine when m·n·k is below parallelFlops or maxWorkers is 1,
// else one goroutine per worker. It splits the dimension with more
// micro-tiles (mr×nr) so that every goroutine gets whole tiles; blocks are
// disjoint in C, so the split does not change the result.
func splitGemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, mr, nr, maxWorkers int, part func(m, n int, a, b, c []float32)) {
	if m == 0 || n == 0 {
		return
	}
	workers := 1
	if m*n*k >= parallelFlops {
		workers = maxWorkers
	}
	mt, nt := (m+mr-1)/mr, (n+nr-1)/nr
	splitN := nt >= mt || nt >= 2*workers
	tiles := mt
	if splitN {
		tiles = nt
	}
	workers = min(workers, tiles)
	if workers <= 1 {
		part(m, n, a, b, c)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		t0, t1 := tiles*w/workers, tiles*(w+1)/workers
		if t0 == t1 {
			continue
		}
		wg.Go(func() {
			if splitN {
				j0, j1 := t0*nr, min(t1*nr, n)
				bo := j0
				if tB {
					bo = j0 * ldb
				}
				part(m, j1-j0, a, b[bo:], c[j0:])
			} else {
				i0, i1 := t0*mr, min(t1*mr, m)
				ao := i0 * lda
				if tA {
					ao = i0
				}
				part(i1-i0, n, a[ao:], b, c[i0*ldc:])
			}
		})
	}
	wg.Wait()
}

// workers is the number of goroutines a large product is split over.
func workers() int { return runtime.GOMAXPROCS(0) }

// scaleC sets the m×n block of c to beta·c, writing zeros (not 0·NaN) when
// beta is 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// serial is gemm on the calling goroutine.
func (mk *microKernel) serial(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	mr, nr := mk.mr, mk.nr
	buf := packPool.Get().(*packBuf)
	defer packPool.Put(buf)
	kcMax := min(k, blockK)
	ncMax := (min(n, blockN) + nr - 1) / nr * nr
	mcMax := (min(m, blockM) + mr - 1) / mr * mr
	buf.b = grow(buf.b, kcMax*ncMax)
	buf.a = grow(buf.a, kcMax*mcMax)
	buf.tile = grow(buf.tile, mr*nr)
	tile := buf.tile
	for jc := 0; jc < n; jc += blockN {
		nc := min(blockN, n-jc)
		for pc := 0; pc < k; pc += blockK {
			kc := min(blockK, k-pc)
			packB(buf.b, tB, b, ldb, pc, jc, kc, nc, nr)
			for ic := 0; ic < m; ic += blockM {
				mc := min(blockM, m-ic)
				packA(buf.a, tA, a, lda, ic, pc, mc, kc, mr, alpha)
				for jr := 0; jr < nc; jr += nr {
					bp := buf.b[jr*kc : (jr+nr)*kc]
					nrr := min(nr, nc-jr)
					for ir := 0; ir < mc; ir += mr {
						ap := buf.a[ir*kc : (ir+mr)*kc]
						mrr := min(mr, mc-ir)
						co := (ic+ir)*ldc + jc + jr
						if mrr == mr && nrr == nr {
							mk.fn(kc, ap, bp, c[co:], ldc)
							continue
						}
						clear(tile)
						mk.fn(kc, ap, bp, tile, nr)
						for i := range mrr {
							dst := c[co+i*ldc : co+i*ldc+nrr]
							for j, v := range tile[i*nr : i*nr+nrr] {
								dst[j] += v
							}
						}
					}
				}
			}
		}
	}
}

// packA packs alpha·op(A)[ic:ic+mc, pc:pc+kc] into dst as micro-panels of
// mr rows: panel q holds element (q·mr+i, p) at dst[q·mr·kc + p·mr + i].
// Rows past mc are zero.
func packA(dst []float32, tA bool, a []float32, lda, ic, pc, mc, kc, mr int, alpha float32) {
	for ir := 0; ir < mc; ir += mr {
		panel := dst[ir*kc : (ir+mr)*kc]
		rows := min(mr, mc-ir)
		if !tA && mr == 6 && rows == 6 {
			// The 6-row micro-panels of the 6×64 kernel: six rows
			// interleaved in one pass, without bounds checks in the loop.
			src := a[(ic+ir)*lda+pc:]
			r0, r1, r2 := src[:kc], src[lda:lda+kc], src[2*lda:2*lda+kc]
			r3, r4, r5 := src[3*lda:3*lda+kc], src[4*lda:4*lda+kc], src[5*lda:5*lda+kc]
			for p := range kc {
				d := panel[p*6 : p*6+6 : p*6+6]
				d[0], d[1], d[2], d[3], d[4], d[5] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p], alpha*r4[p], alpha*r5[p]
			}
			continue
		}
		if !tA {
			// op(A)(i, p) = a[i*lda+p]: each source row is contiguous in p,
			// so groups of 8 rows go through 8×8 transposes.
			n8, i8 := kc/8, 0
			for ; i8+8 <= rows; i8 += 8 {
				transpose8(n8, a[(ic+ir+i8)*lda+pc:], lda, panel[i8:], mr)
			}
			for i := range rows {
				src := a[(ic+ir+i)*lda+pc:]
				src = src[:kc]
				p0 := 0
				if i < i8 {
					p0 = 8 * n8
				}
				for p := p0; p < kc; p++ {
					panel[p*mr+i] = src[p]
				}
			}
			if alpha != 1 {
				for p := range kc {
					d := panel[p*mr : p*mr+rows]
					for i := range d {
						d[i] *= alpha
					}
				}
			}
		} else {
			// op(A)(i, p) = a[p*lda+i]: each source row is contiguous in i.
			for p := range kc {
				src := a[(pc+p)*lda+ic+ir:]
				src = src[:rows]
				d := panel[p*mr : p*mr+rows]
				for i, v := range src {
					d[i] = alpha * v
				}
			}
		}
		if rows < mr {
			for p := range kc {
				clear(panel[p*mr+rows : (p+1)*mr])
			}
		}
	}
}

// packB packs op(B)[pc:pc+kc, jc:jc+nc] into dst as micro-panels of nr
// columns: panel q holds element (p, q·nr+j) at dst[q·nr·kc + p·nr + j].
// Columns past nc are zero.
func packB(dst []float32, tB bool, b []float32, ldb, pc, jc, kc, nc, nr int) {
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr*kc : (jr+nr)*kc]
		cols := min(nr, nc-jr)
		if !tB {
			// op(B)(p, j) = b[p*ldb+j]: rows of the panel are contiguous.
			for p := range kc {
				src := b[(pc+p)*ldb+jc+jr:]
				copy(panel[p*nr:p*nr+cols], src[:cols])
			}
		} else {
			// op(B)(p, j) = b[j*ldb+p]: each source row is a panel column,
			// so groups of 8 columns go through 8×8 transposes.
			n8, j8 := kc/8, 0
			for ; j8+8 <= cols; j8 += 8 {
				transpose8(n8, b[(jc+jr+j8)*ldb+pc:], ldb, panel[j8:], nr)
			}
			for j := range cols {
				src := b[(jc+jr+j)*ldb+pc:]
				src = src[:kc]
				p0 := 0
				if j < j8 {
					p0 = 8 * n8
				}
				for p := p0; p < kc; p++ {
					panel[p*nr+j] = src[p]
				}
			}
		}
		if cols < nr {
			for p := range kc {
				clear(panel[p*nr+cols : (p+1)*nr])
			}
		}
	}
}
