#!/usr/bin/python3
"""Goldens for package sparse: scikit-learn's orthogonal_mp_gram.

Run from the repository root with Debian's interpreter:

    /usr/bin/python3 testdata/sparse/make_goldens.py

Versions used for the committed files: Python 3.11, NumPy 1.24.2,
SciPy 1.10.1, scikit-learn 1.2.1 (Debian bookworm packages). The script
prints the versions it ran with and records them in manifest.json.

Each case writes <name>_dict.npy [M, d] (atoms as rows, float64),
<name>_targets.npy [T, d], <name>_coefs.npy [T, M] (sklearn's coefficient
vector per target), <name>_order.npy [T, kmax] (atom selection order, -1
padded; reconstructed from return_path=True) and lists n_iter per target
in the manifest. Gram = D·Dᵀ and Xy = D·y are precomputed as the
reference does.
"""
import json
import os
import sys
import warnings

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import orthogonal_mp_gram

OUT = os.path.dirname(os.path.abspath(__file__))


def run(D, y, k, tol):
    G = D @ D.T
    Xy = D @ y
    kw = dict(n_nonzero_coefs=k) if tol is None else dict(tol=tol, norms_squared=float(y @ y))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        coef, n_iter = orthogonal_mp_gram(G, Xy, return_n_iter=True, **kw)
        premature = any("premature" in str(x.message).lower() or "Orthogonal matching pursuit ended prematurely" in str(x.message) for x in w)
    path = orthogonal_mp_gram(G, Xy, return_path=True, **kw)
    if path.ndim == 1:
        path = path[:, None]
    order = []
    prev = np.zeros(D.shape[0], dtype=bool)
    for s in range(path.shape[1]):
        nz = path[:, s] != 0
        new = np.flatnonzero(nz & ~prev)
        assert len(new) == 1, (s, new)
        order.append(int(new[0]))
        prev = nz
    assert len(order) == n_iter, (order, n_iter)
    assert np.allclose(path[:, -1], coef)
    return coef, order, int(n_iter), premature


def case(name, D, Y, k, tol=None, note=""):
    T = Y.shape[0]
    kmax = k if tol is None else D.shape[0]
    coefs = np.zeros((T, D.shape[0]))
    orders = -np.ones((T, kmax), dtype=np.int64)
    iters, prem = [], []
    for t in range(T):
        c, o, n, p = run(D, Y[t], k, tol)
        coefs[t] = c
        orders[t, : len(o)] = o
        iters.append(n)
        prem.append(p)
    np.save(os.path.join(OUT, f"{name}_dict.npy"), D)
    np.save(os.path.join(OUT, f"{name}_targets.npy"), Y)
    np.save(os.path.join(OUT, f"{name}_coefs.npy"), coefs)
    np.save(os.path.join(OUT, f"{name}_order.npy"), orders)
    return dict(name=name, k=k, tol=tol, n_iter=iters, premature=prem, note=note)


def main():
    rng = np.random.default_rng(20240605)
    cases = []

    # Random atoms with unequal norms (the reference does not normalize atoms).
    D = rng.standard_normal((80, 32)) * rng.uniform(0.5, 2.0, (80, 1))
    Y = rng.standard_normal((4, 32))
    cases.append(case("random", D, Y, 12, note="Gaussian atoms, norms in [0.5, 2]"))

    # Near-duplicate and exact duplicate atoms; the last target lies in the
    # span of atoms 3, 17 and 30, so the pursuit stops after three atoms.
    D = rng.standard_normal((50, 20))
    D[10] = D[3] + 1e-7 * rng.standard_normal(20)
    D[11] = D[3] + 1e-7 * rng.standard_normal(20)
    D[12] = D[5]
    Y = rng.standard_normal((4, 20))
    Y[1] += 3 * D[5]
    Y[2] += 4 * D[3]
    Y[3] = 2 * D[3] - D[17] + 0.5 * D[30]
    cases.append(case("neardup", D, Y, 15, note="atoms 10, 11 ~ atom 3; atom 12 == atom 5; last target in span{3,17,30}"))

    # Linear dependence caught by the Cholesky check: atom 2 lies in
    # span{0, 1} up to 1e-9 while the residual is large along its offset.
    D = np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [1, -1, 1e-9, 0], [0, 0, 0, 1]])
    D[2] /= np.linalg.norm(D[2])
    Y = np.array([[3.0, 2.0, 1e6, 0.0]])
    cases.append(case("cholesky", D, Y, 3, note="third atom dependent: Lkk <= eps"))

    # Square full-rank case: the residual vanishes at k = d.
    D = rng.standard_normal((30, 10))
    Y = rng.standard_normal((3, 10))
    cases.append(case("fullrank", D, Y, 10))

    # Tolerance: stop when the squared residual norm is <= tol (k ignored by sklearn).
    D = rng.standard_normal((60, 24))
    Y = rng.standard_normal((3, 24)) * 2
    cases.append(case("tol", D, Y, None, tol=5.0, note="tol on squared residual, norms_squared = |y|^2"))

    versions = dict(python=sys.version.split()[0], numpy=np.__version__, scipy=scipy.__version__, sklearn=sklearn.__version__)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(dict(versions=versions, eps=float(np.finfo(np.float64).eps), cases=cases), f, indent=1)
    print(versions)
    for c in cases:
        print(c["name"], c["n_iter"], c["premature"])


if __name__ == "__main__":
    main()
