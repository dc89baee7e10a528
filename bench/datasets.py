"""Benchmark datasets: base vectors, query vectors, a metric, and the exact k nearest neighbours
with the recall of answers against them (test/python/groundtruth.py, shared with the tests), all
cached under bench/cache/ (the vectors too, so that generated data cannot drift with the numpy
version, and the ground truth per k and query count)."""
import os
import sys

import faiss
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "cache")
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
sys.path.insert(0, os.path.join(HERE, "..", "test", "python"))
import groundtruth  # noqa: E402
import vsutil  # noqa: E402


def _save(path, **arrays):
    """Writes an .npz atomically, so that an interrupted run leaves no half-written cache."""
    np.savez(path + ".tmp.npz", **arrays)
    os.replace(path + ".tmp.npz", path)


def _normalised(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _fashion_mnist(normalise):
    base, _ = vsutil.fashion_mnist("train")
    queries, _ = vsutil.fashion_mnist("t10k")
    return (_normalised(base), _normalised(queries)) if normalise else (base, queries)


def _fashion_mnist_sparse():
    """Fashion-MNIST with the pixels of 127 and below dropped: 245 non-zero elements of 784 on
    average (at most 663), for the sparsevec index."""
    base, queries = _fashion_mnist(False)
    return np.where(base > 127, base, 0).astype(np.float32), np.where(queries > 127, queries, 0).astype(np.float32)


def _clustered(rows, dim, clusters=100, spread=0.5, nq=10_000):
    """A Gaussian mixture: unit-normal centres, points at `spread` around a random centre; the
    queries are fresh draws from the same mixture. Generated in chunks to bound memory at 10^6."""
    rng = np.random.default_rng([rows, dim])
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)

    def draw(n):
        out = np.empty((n, dim), dtype=np.float32)
        for start in range(0, n, 100_000):
            m = min(100_000, n - start)
            noise = rng.standard_normal((m, dim), dtype=np.float32)
            out[start:start + m] = centres[rng.integers(0, clusters, m)] + spread * noise
        return out

    return draw(rows), draw(nq)


# name -> (metric, loader, name of the matching records in the pgvector reference file)
NAMED = {
    "fashion-mnist": ("l2", lambda: _fashion_mnist(False), "fashion-mnist-784-euclidean"),
    "fashion-mnist-angular": ("cosine", lambda: _fashion_mnist(True), "fashion-mnist-784-angular"),
    "fashion-mnist-sparse": ("l2", _fashion_mnist_sparse, None),
    "seed": ("l2", vsutil.seed_dataset, "seed-128-euclidean"),
}


def faiss_flat(base, metric):
    """An exact faiss index: IndexFlatL2, or IndexFlatIP over unit vectors for cosine."""
    index = faiss.IndexFlatL2(base.shape[1]) if metric == "l2" else faiss.IndexFlatIP(base.shape[1])
    index.add(base if metric == "l2" else _normalised(base))
    return index


def faiss_query(queries, metric):
    """queries (one vector, or rows of them) as faiss searches them."""
    q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    return q if metric == "l2" else _normalised(q)


class Dataset:
    def __init__(self, name, metric, base, queries, reference_name=None):
        self.name, self.metric, self.reference_name = name, metric, reference_name
        self.base, self.queries = base, queries
        self._truths = {}

    @property
    def dim(self):
        return self.base.shape[1]

    def ground_truth(self, k):
        """The groundtruth.GroundTruth of the exact k nearest base rows (ids: 0-based positions)
        of each query."""
        if k not in self._truths:
            path = os.path.join(CACHE, self.name, f"gt-k{k}-nq{len(self.queries)}.npz")
            self._truths[k] = groundtruth.GroundTruth.cached(path, self.base, self.queries, self.metric, k,
                                                             candidates=self._faiss_candidates)
        return self._truths[k]

    def _faiss_candidates(self, base, queries, count):
        """Candidates from faiss's own loops on every core: Debian's reference BLAS, which the
        ground truth's float64 matrix product would use, is slower."""
        faiss.omp_set_num_threads(os.cpu_count())
        faiss.cvar.distance_compute_blas_threshold = 1 << 30
        return faiss_flat(base, self.metric).search(faiss_query(queries, self.metric), count)[1]

    def recall(self, found, k):
        """Mean recall@k (groundtruth.py) of found, one list of 0-based ids per query, for the
        first len(found) queries."""
        return self.ground_truth(k).recall(found)


def load(name, nq, rows=None, dim=None):
    """The dataset `name` ('fashion-mnist', 'fashion-mnist-angular', 'fashion-mnist-sparse', 'seed', or 'clustered' with
    rows and dim) with its first nq queries (None: all of them)."""
    if name == "clustered":
        key, metric, reference = f"clustered-{dim}d-{rows}", "l2", None
        make = lambda: _clustered(rows, dim)  # noqa: E731
    else:
        metric, make, reference = NAMED[name]
        key = name
    path = os.path.join(CACHE, key, "vectors.npz")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        base, queries = make()
        _save(path, base=base, queries=queries)
    vectors = np.load(path)
    base, queries = vectors["base"], vectors["queries"]
    return Dataset(key, metric, base, queries[:nq], reference)
