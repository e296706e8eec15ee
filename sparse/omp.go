package sparse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
)

// ErrInput is wrapped by every error that reports a bad argument: k out of
// range, a dimension mismatch, a NaN or infinite value, a negative tolerance.
var ErrInput = errors.New("sparse: invalid input")

// eps is scikit-learn's min_float for float64 Gram matrices,
// np.finfo(np.float64).eps: the threshold of both early stops.
const eps = 0x1p-52

// Stop says why a pursuit ended.
type Stop uint8

const (
	// StopMaxAtoms: k atoms were selected.
	StopMaxAtoms Stop = iota
	// StopTolerance: the squared residual norm reached the tolerance
	// (only with WithTolerance).
	StopTolerance
	// StopSmallCorrelation: the largest correlation α with the residual
	// had α² < eps (the target is, to rounding, in the span of the active
	// atoms; for NonNegative, no atom correlates positively). scikit-learn
	// warns "ended prematurely" here.
	StopSmallCorrelation
	// StopRepeatedAtom: the largest correlation belonged to an active atom
	// (scikit-learn's lam < n_active; it warns too).
	StopRepeatedAtom
	// StopDependent: the chosen atom is linearly dependent on the active
	// ones: its Cholesky pivot ‖e‖² − ‖L⁻¹g‖² was ≤ eps. scikit-learn warns
	// and stops here without adding the atom, and so do we.
	StopDependent
)

var stopNames = [...]string{"max atoms", "tolerance", "small correlation", "repeated atom", "dependent atom"}

// String returns a short description of s.
func (s Stop) String() string {
	if int(s) < len(stopNames) {
		return stopNames[s]
	}
	return fmt.Sprintf("Stop(%d)", uint8(s))
}

// Premature reports whether s is one of the early stops on which
// scikit-learn warns "Orthogonal matching pursuit ended prematurely".
func (s Stop) Premature() bool { return s >= StopSmallCorrelation }

// Result is the sparse code of one target y [d].
type Result struct {
	// Atoms holds the indices of the selected atoms (rows of the
	// dictionary) in selection order; len(Atoms) ≤ k.
	Atoms []int
	// Coefs holds the coefficient γ_i of Atoms[i]: y ≈ Σ_i γ_i·e_{Atoms[i]}.
	Coefs []float64
	// ResidualNorm is ‖y − Σ_i γ_i·e_{Atoms[i]}‖₂, computed in float64.
	ResidualNorm float64
	// Stopped says why the pursuit ended.
	Stopped Stop
}

// Option configures OMP and OMPBatch.
type Option func(*config)

type config struct {
	tol     float64
	hasTol  bool
	nonNeg  bool
	workers int
}

func newConfig(opts []Option) config {
	c := config{workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithTolerance stops a pursuit as soon as the squared residual norm,
// computed as scikit-learn does from the Gram matrix,
//
//	‖y‖² − γᵀ·G_AA·γ ≤ tol,
//
// is reached, in addition to the k-atom limit. scikit-learn's tol ignores
// n_nonzero_coefs; pass k = M to reproduce it. A negative tol is an error.
func WithTolerance(tol float64) Option {
	return func(c *config) { c.tol, c.hasTol = tol, true }
}

// NonNegative switches to non-negative OMP, which goes beyond the reference:
// each step adds the atom with the largest positive correlation e_m·r (none
// positive enough: StopSmallCorrelation) and refits all coefficients by
// non-negative least squares on the active set (Lawson–Hanson on the
// normal equations, warm-started from the previous step). Coefficients are
// ≥ 0; an atom whose coefficient drops to 0 stays in Atoms with coefficient
// 0. The dependence check is the same as for plain OMP.
func NonNegative() Option { return func(c *config) { c.nonNeg = true } }

// WithWorkers sets the number of goroutines of OMPBatch (default
// runtime.GOMAXPROCS(0)); n < 1 means 1. Results do not depend on it.
func WithWorkers(n int) Option { return func(c *config) { c.workers = max(n, 1) } }

// OMP runs Orthogonal Matching Pursuit for one target y [d] on dict with at
// most k atoms. It reproduces scikit-learn's orthogonal_mp_gram(Gram, Xy,
// n_nonzero_coefs=k) with Gram = E·Eᵀ and Xy = E·y, without forming Gram:
// at step s, with active set A and residual r = y − E_Aᵀ·γ,
//
//	α = E·r                       (= Xy − Gram[:, A]·γ; one [M, d] product)
//	λ = argmax_m |α_m|            (ties: scikit-learn's swapped order)
//	L_new = [L 0; wᵀ √(‖e_λ‖² − ‖w‖²)],  L·w = E_A·e_λ
//	γ = (L·Lᵀ)⁻¹·E_A·y            (two triangular solves)
//
// and stops after k atoms, or early as scikit-learn does (see Stop).
// Only the scan α = E·r touches all M atoms; the Gram entries of the
// active set are computed on the fly (k·d per step). Memory is O(M + k²+k·d).
//
// OMP returns an error wrapping ErrInput if k < 1 or k > M, len(y) != d, y
// holds a NaN or an infinity, or the tolerance is negative.
func OMP(dict *Dictionary, y []float64, k int, opts ...Option) (Result, error) {
	c := newConfig(opts)
	if err := check(dict, len(y), k, c); err != nil {
		return Result{}, err
	}
	if err := checkFinite(y, -1); err != nil {
		return Result{}, err
	}
	res := make([]Result, 1)
	run(context.Background(), dict, [][]float64{y}, k, c, res)
	return res[0], nil
}

// OMPBatch runs OMP on every row of targets [T, d] and returns the T results
// in row order. Targets are split into blocks of up to 64 that advance in
// lockstep, so that one pass over the dictionary serves a whole block (a
// [b, d]×[d, M] product); blocks run on WithWorkers goroutines. Each result
// is bit-identical to OMP on that row alone.
//
// ctx is checked between steps (atoms); on cancellation OMPBatch returns
// ctx.Err(). Errors are those of OMP, the row named for a non-finite target.
func OMPBatch(ctx context.Context, dict *Dictionary, targets *mat.Dense, k int, opts ...Option) ([]Result, error) {
	c := newConfig(opts)
	t, d := targets.Dims()
	if err := check(dict, d, k, c); err != nil {
		return nil, err
	}
	ys := make([][]float64, t)
	for i := range t {
		ys[i] = targets.RawRowView(i)
		if err := checkFinite(ys[i], i); err != nil {
			return nil, err
		}
	}
	res := make([]Result, t)
	if err := run(ctx, dict, ys, k, c, res); err != nil {
		return nil, err
	}
	return res, nil
}

func check(dict *Dictionary, d, k int, c config) error {
	if d != dict.d {
		return fmt.Errorf("%w: target has %d dimensions, dictionary atoms have %d", ErrInput, d, dict.d)
	}
	if k < 1 || k > dict.m {
		return fmt.Errorf("%w: k = %d, want 1 ≤ k ≤ %d (number of atoms)", ErrInput, k, dict.m)
	}
	if c.hasTol && (c.tol < 0 || math.IsNaN(c.tol)) {
		return fmt.Errorf("%w: tolerance %v, want ≥ 0", ErrInput, c.tol)
	}
	return nil
}

func checkFinite(y []float64, row int) error {
	for j, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if row < 0 {
				return fmt.Errorf("%w: target element %d is %v", ErrInput, j, v)
			}
			return fmt.Errorf("%w: target row %d element %d is %v", ErrInput, row, j, v)
		}
	}
	return nil
}

// blockTargets is the largest number of targets that advance in lockstep.
const blockTargets = 64

// run solves ys into res, in blocks of targets spread over c.workers.
func run(ctx context.Context, dict *Dictionary, ys [][]float64, k int, c config, res []Result) error {
	n := len(ys)
	if n == 0 {
		return nil
	}
	workers := min(c.workers, n)
	// Blocks: as large as possible up to blockTargets, while giving every
	// worker one; a multiple of 4 (the kernel's tile) where possible.
	bs := min(blockTargets, (n+workers-1)/workers)
	bs = min((bs+3)/4*4, blockTargets)
	nblocks := (n + bs - 1) / bs
	workers = min(workers, nblocks)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := newBlock(dict, k, bs, c)
			for {
				i := int(next.Add(1)) - 1
				if i >= nblocks {
					return
				}
				lo, hi := i*bs, min((i+1)*bs, n)
				if err := b.solve(ctx, ys[lo:hi], res[lo:hi]); err != nil {
					errs[w] = err
					next.Store(int64(nblocks)) // stop the others early
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
