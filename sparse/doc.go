// Package sparse codes vectors as sparse combinations of dictionary atoms
// with Orthogonal Matching Pursuit (OMP). It knows nothing about CLIP: a
// [Dictionary] is any [M, d] matrix whose rows are the atoms, a target any
// vector in R^d.
//
// # What it computes
//
// [OMP] reproduces scikit-learn's orthogonal_mp_gram(Gram, Xy,
// n_nonzero_coefs=k) with Gram = E·Eᵀ and Xy = E·y: the same atoms in the
// same order, the same coefficients (to rounding: below 1e-14 on the
// goldens in testdata/sparse), and the same early stops, under the same
// threshold eps = 2⁻⁵² (np.finfo(float64).eps):
//
//   - the largest correlation α satisfies α² < eps, or belongs to an atom
//     already chosen ([StopSmallCorrelation], [StopRepeatedAtom]);
//   - the chosen atom's Cholesky pivot ‖e‖² − ‖L⁻¹·E_A·e‖² is ≤ eps, i.e.
//     it is linearly dependent on the active atoms ([StopDependent]).
//
// scikit-learn warns "ended prematurely" in these cases; here they are
// reported in [Result.Stopped] ([Stop.Premature]). [WithTolerance] adds
// scikit-learn's tol (squared residual norm) and [NonNegative] a
// non-negative variant that goes beyond the reference.
//
// # Memory and speed
//
// scikit-learn needs Gram, M² entries (3.6 GB in float32 for M = 30,000)
// and copies it for every target. OMP never forms it. Each step computes
// the correlations of all atoms with the current residual, α = E·r, one
// [M, d] product, equal to Xy − Gram[:, A]·γ; everything else (Gram entries
// among the ≤ k active atoms, the incremental Cholesky factor, the
// coefficients) is O(k·d + k²) float64 work. [OMPBatch] advances up to 64
// targets in lockstep so that one pass over E serves them all (a
// [b, d]×[d, M] product, AVX2 assembly on amd64) and spreads blocks over
// goroutines. Working memory is the dictionary plus O(b·(M + k·d + k²)) per
// worker.
//
// # Layout
//
// Matrices are row-major: the dictionary is [M, d] with atom m at
// data[m*d : (m+1)*d]; [OMPBatch] takes targets [T, d] as a *mat.Dense with
// one target per row. Results list atoms in selection order with aligned
// coefficients.
//
// # Errors, panics, concurrency
//
// Bad arguments (k outside [1, M], dimension mismatches, NaN or infinite
// values, a negative tolerance) are errors wrapping [ErrInput]. Slices whose
// lengths disagree with the shape given alongside them panic. A
// [Dictionary] is read-only after construction and may be shared by any
// number of goroutines; OMP and OMPBatch allocate their own scratch.
// OMPBatch results do not depend on the number of workers or on how targets
// are grouped: each is bit-identical to an OMP call on that target alone.
package sparse
