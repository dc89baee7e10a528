"""Ground truth and recall, one definition for the tests in test/python and the benchmark in bench/.

Distances are float64, in the units of the SQL operators, so a server's answer can be checked
against them directly:

    metric          operator  distance
    l2              <->       sqrt(sum((a - b)^2))
    inner_product   <#>       -(a . b)          (negated: nearest first means largest product)
    cosine          <=>       1 - a . b / (|a| |b|)
    l1              <+>       sum(|a - b|)

Exact top-k: a fast pass (a float64 matrix product, or candidates the caller supplies, e.g. from
faiss) picks CANDIDATES rows per query, which are then ranked by distances computed directly,
element by element, in float64. Rows at the same distance are ranked by their position. On integer
data such as Fashion-MNIST's pixels the direct L2 distances are exact, so duplicate images get
equal distances, not ones that differ in the last bit.

recall@k of an answer (the rows an index returned for one query) is the number of distinct
returned rows that are among the true k nearest, divided by k; a returned row whose distance
equals the true k-th distance counts as one of them, whichever of the tied rows the ground truth
listed (Fashion-MNIST has duplicate images, and an index may return either copy). "Equals" allows
a relative 1e-9 for the rounding of the direct float64 sums. So an answer of k rows all at or
within the true k-th distance has recall 1, like ann-benchmarks' definition. The recall of a set
of answers is the mean over them. An answer that holds more than k rows, a row twice, or a row the
base does not hold is an error (ValueError), not a lower recall: it is a bug of the index.
"""
import os

import numpy as np

OPERATORS = {"l2": "<->", "inner_product": "<#>", "cosine": "<=>", "l1": "<+>"}
METRIC_OF_OPERATOR = {operator: metric for metric, operator in OPERATORS.items()}

# Rows per query the fast pass keeps for the exact ranking: its rounding moves a distance by far
# less than the gap between the 10th and the 100th neighbour.
CANDIDATES = 100
# A returned row at most this much (relatively) farther than the true k-th row is tied with it.
TIE_TOLERANCE = 1e-9
# float64 elements per temporary of a direct computation (128 MiB), so that memory stays bounded.
_BLOCK_ELEMENTS = 1 << 24


def _direct(base_rows, queries, metric):
    """Distances from queries[i] to base_rows[i, j], both float64 (nq x r x d and nq x d)."""
    if metric == "l2":
        return np.sqrt(((base_rows - queries[:, None, :]) ** 2).sum(axis=-1))
    if metric == "l1":
        return np.abs(base_rows - queries[:, None, :]).sum(axis=-1)
    dot = (base_rows * queries[:, None, :]).sum(axis=-1)
    if metric == "inner_product":
        return -dot
    if metric == "cosine":
        return 1 - dot / (np.linalg.norm(base_rows, axis=-1) * np.linalg.norm(queries, axis=-1)[:, None])
    raise ValueError(f"unknown metric {metric!r} (known: {', '.join(OPERATORS)})")


def distances_to(base, queries, rows, metric):
    """float64 (nq x r): the distance from queries[i] to base[rows[i, j]], computed directly."""
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty(rows.shape, dtype=np.float64)
    step = max(1, _BLOCK_ELEMENTS // max(1, rows.shape[1] * base.shape[1]))
    for start in range(0, len(rows), step):
        block = slice(start, start + step)
        out[block] = _direct(base[rows[block]].astype(np.float64), queries[block].astype(np.float64), metric)
    return out


def distances(base, queries, metric):
    """float64 (nq x n): the distance from each query to every base row, computed directly."""
    out = np.empty((len(queries), len(base)), dtype=np.float64)
    step = max(1, _BLOCK_ELEMENTS // base.shape[1])
    q = queries.astype(np.float64)
    for i in range(len(queries)):
        for start in range(0, len(base), step):
            block = base[start:start + step].astype(np.float64)[None, :, :]
            out[i, start:start + step] = _direct(block, q[i:i + 1], metric)[0]
    return out


def _matrix_product_candidates(base, queries, metric, count):
    """The count rows nearest to each query by a float64 matrix product (L2 from the expansion
    |q|^2 - 2 q.b + |b|^2, without the |q|^2 that ranks nothing), a block of queries at a time;
    L1 has no such form and is computed directly."""
    if metric == "l1":
        return np.argpartition(distances(base, queries, metric), count - 1, axis=1)[:, :count]
    b = base.astype(np.float64)
    if metric == "cosine":
        b /= np.linalg.norm(b, axis=1, keepdims=True)
    squared_norms = (b * b).sum(axis=1)[None, :]
    out = np.empty((len(queries), count), dtype=np.int64)
    step = max(1, _BLOCK_ELEMENTS // len(base))
    for start in range(0, len(queries), step):
        q = queries[start:start + step].astype(np.float64)
        if metric == "cosine":
            q /= np.linalg.norm(q, axis=1, keepdims=True)
        near = -(q @ b.T)
        if metric == "l2":
            near = 2 * near + squared_norms
        out[start:start + step] = np.argpartition(near, count - 1, axis=1)[:, :count]
    return out


def exact_top_k(base, queries, k, metric, candidates=None):
    """(rows nq x k, float64 distances nq x k): the k nearest base rows (positions in base) of
    each query, nearest first. candidates(base, queries, count), if given, returns count
    candidate rows per query in place of the float64 matrix product."""
    if k > len(base):
        raise ValueError(f"k = {k} but the base holds {len(base)} rows")
    count = min(len(base), max(CANDIDATES, k))
    find = candidates or (lambda b, q, c: _matrix_product_candidates(b, q, metric, c))
    picked = np.sort(np.asarray(find(base, queries, count), dtype=np.int64), axis=1)
    dist = distances_to(base, queries, picked, metric)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]  # picked is sorted: ties by position
    return np.take_along_axis(picked, order, 1), np.take_along_axis(dist, order, 1)


class GroundTruth:
    """The exact k nearest rows of each query among base, and the recall of answers against them.
    Rows are named by ids (ids[j] names base[j]; by default their positions 0..n-1), as the
    answers name them: a table's id column, say."""

    def __init__(self, base, queries, metric, k, ids=None, candidates=None, rows=None, dist=None):
        self.base, self.queries, self.metric, self.k = base, queries, metric, k
        self.ids = np.arange(len(base)) if ids is None else np.asarray(ids, dtype=np.int64)
        if len(self.ids) != len(base) or len(np.unique(self.ids)) != len(self.ids):
            raise ValueError("ids must name each base row once")
        if rows is None:
            rows, dist = exact_top_k(base, queries, k, metric, candidates)
        self.rows, self.dist = rows, dist
        self._by_id = np.argsort(self.ids)

    @classmethod
    def cached(cls, path, base, queries, metric, k, candidates=None):
        """The ground truth of base (ids 0..n-1), read from the .npz at path if it is there, else
        computed and written there (atomically: an interrupted run leaves no half-written file)."""
        if os.path.exists(path):
            saved = np.load(path)
            return cls(base, queries, metric, k, rows=saved["ids"], dist=saved["dist"])
        truth = cls(base, queries, metric, k, candidates=candidates)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.savez(path + ".tmp.npz", ids=truth.rows, dist=truth.dist)
        os.replace(path + ".tmp.npz", path)
        return truth

    @property
    def top_ids(self):
        """(nq x k) the ids of the k nearest rows of each query, nearest first."""
        return self.ids[self.rows]

    def positions(self, found_ids):
        """The base positions of the rows named found_ids; ValueError for an id not in the base."""
        found_ids = np.asarray(found_ids, dtype=np.int64)
        at = np.searchsorted(self.ids, found_ids, sorter=self._by_id)
        at = self._by_id[np.minimum(at, len(self.ids) - 1)]
        unknown = found_ids[self.ids[at] != found_ids]
        if len(unknown):
            raise ValueError(f"rows the base does not hold: {unknown.tolist()}")
        return at

    def distances_of(self, query, found_ids):
        """float64 distances from queries[query] to the rows named found_ids."""
        rows = self.positions(found_ids)
        return distances_to(self.base, self.queries[query:query + 1], rows[None, :], self.metric)[0]

    def hits(self, query, found_ids):
        """How many of the rows named found_ids (one answer to queries[query]) are among its k
        nearest, ties at the k-th distance included."""
        found_ids = list(found_ids)
        if len(found_ids) > self.k:
            raise ValueError(f"query {query}: {len(found_ids)} rows returned, more than k = {self.k}")
        if len(set(found_ids)) != len(found_ids):
            raise ValueError(f"query {query} returned a row twice: {found_ids}")
        if not found_ids:
            return 0
        try:
            dist = self.distances_of(query, found_ids)
        except ValueError as e:
            raise ValueError(f"query {query}: {e}") from None
        kth = self.dist[query, self.k - 1]
        return int(np.count_nonzero(dist <= kth + TIE_TOLERANCE * abs(kth)))

    def recall(self, answers):
        """Mean recall@k of answers, one list of row ids per query, for the first len(answers)
        queries."""
        if not 0 < len(answers) <= len(self.queries):
            raise ValueError(f"{len(answers)} answers for {len(self.queries)} queries")
        return sum(self.hits(i, ids) for i, ids in enumerate(answers)) / (self.k * len(answers))
