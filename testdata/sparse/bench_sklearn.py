#!/usr/bin/python3
"""Times scikit-learn's orthogonal_mp_gram on the 30k × 512 problem of
BENCHMARKS.md, "sparse (issue 5)", the way the reference calls it: a float32
Gram = E·Eᵀ [30000, 30000] (3.6 GB) precomputed, Xy = E·Yᵀ, k = 128.

    /usr/bin/time -v /usr/bin/python3 testdata/sparse/bench_sklearn.py OUT_DIR [N_TARGETS]

Writes to OUT_DIR (not committed; about 70 MB): dict.npy [30000, 512]
float32, targets.npy [3072, 512] float64 unit rows, sklearn_coefs.npy
[N_TARGETS, 30000] for the first N_TARGETS targets, and prints the seconds
per target. BenchmarkOMP30kFull (-sparse.full=OUT_DIR) reads the same files.
The dictionary follows METHOD.md section 3 (centred over texts, each column
divided by its norm over the pool, ×100), from Gaussian stand-in embeddings.
"""
import os
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import orthogonal_mp_gram

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(5)
M, d, T, k = 30000, 512, 3072, 128
E = rng.standard_normal((M, d), dtype=np.float32)
E /= np.linalg.norm(E, axis=1, keepdims=True)
E -= E.mean(axis=0)
E = (E / np.linalg.norm(E, axis=0) * 100).astype(np.float32)
Y = rng.standard_normal((T, d))
Y /= np.linalg.norm(Y, axis=1, keepdims=True)
np.save(os.path.join(out, "dict.npy"), E)
np.save(os.path.join(out, "targets.npy"), Y)

t0 = time.perf_counter()
G = E @ E.T
Xy = E @ Y[:n].T.astype(np.float32)
t1, c1 = time.perf_counter(), time.process_time()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    coef = orthogonal_mp_gram(G, Xy, n_nonzero_coefs=k)
t2, c2 = time.perf_counter(), time.process_time()
np.save(os.path.join(out, "sklearn_coefs.npy"), np.ascontiguousarray(coef.T))
print(f"sklearn {sklearn.__version__} numpy {np.__version__}: Gram {t1 - t0:.1f} s, "
      f"OMP {n} targets {t2 - t1:.1f} s = {(t2 - t1) / n:.3f} s/target wall, "
      f"{(c2 - c1) / n:.3f} CPU-s/target")
