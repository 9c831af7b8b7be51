"""scikit-learn's t-SNE and MDS on the features `ferlab bench --embed` wrote, timed the same
way (wall time of the fit alone). Prints one JSON line: {"tsne_secs", "mds_secs", "sklearn"}.

usage: python3 bench/embed_reference.py FEATURES.f32 N D MDS_N PERPLEXITY ITERATIONS THREADS
"""
import json
import os
import sys
import time

n, d, mds_n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
perplexity, iterations, threads = float(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = threads

import numpy as np  # noqa: E402  (after the thread settings)
import sklearn  # noqa: E402
from sklearn.manifold import MDS, TSNE  # noqa: E402

x = np.fromfile(sys.argv[1], dtype=np.float32).reshape(n, d)

tsne = TSNE(n_components=2, perplexity=perplexity, max_iter=iterations, init="random",
            method="barnes_hut", angle=0.5, random_state=0, n_jobs=int(threads))
t0 = time.perf_counter()
tsne.fit_transform(x)
tsne_secs = time.perf_counter() - t0

# Classical MDS where this scikit-learn has it, else metric MDS (SMACOF, one init).
sub = x[:mds_n].astype(np.float64)
t0 = time.perf_counter()
try:
    from sklearn.manifold import ClassicalMDS  # scikit-learn >= 1.8

    ClassicalMDS(n_components=2).fit_transform(sub)
    mds_kind = "ClassicalMDS"
except ImportError:
    MDS(n_components=2, n_init=1, random_state=0, normalized_stress="auto").fit_transform(sub)
    mds_kind = "MDS (SMACOF, n_init=1)"
mds_secs = time.perf_counter() - t0
print(json.dumps({"tsne_secs": tsne_secs, "mds_secs": mds_secs, "mds_kind": mds_kind,
                  "sklearn": sklearn.__version__}))
