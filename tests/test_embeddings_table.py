"""The vector table's search: exact under EXACT_ROWS candidate rows, a sign-bit first pass above (plumbing,
random vectors with planted neighbours)."""

import numpy as np

from indexer.embeddings import VectorTable
from indexer.embeddings import table as table_module
from indexer.embeddings.store import quantize


def random_table(rows: int, dim: int = 64, seed: int = 0) -> tuple[VectorTable, np.random.Generator]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    q, scales = quantize(vectors)
    table = VectorTable(None, ["x"], np.array([0, rows]), np.arange(rows, dtype=np.int32),
                        np.zeros(rows, np.float32), np.zeros(rows, np.float32), q, scales,
                        np.packbits(q > 0, axis=1))
    return table, rng


def test_the_first_pass_keeps_the_nearest_rows():
    table, rng = random_table(table_module.EXACT_ROWS + 10_000)
    for _ in range(5):
        query = rng.standard_normal(table.vectors.shape[1]).astype(np.float32)
        query /= np.linalg.norm(query)
        planted = rng.choice(len(table), 3, replace=False)
        for i, row in enumerate(planted):  # near copies of the query, nearest first
            near = query + 0.01 * (i + 1) * rng.standard_normal(len(query)).astype(np.float32)
            q, s = quantize((near / np.linalg.norm(near))[None, :])
            table.vectors[row], table.scales[row], table.bits[row] = q[0], s[0], np.packbits(q[0] > 0)
        found = table.nearest(query, 3)
        assert [r for r, _ in found] == list(planted)
        assert found[0][1] > found[1][1] > found[2][1] > 0.9


def test_filtered_search_keeps_to_the_allowed_rows():
    table, rng = random_table(table_module.EXACT_ROWS + 10_000, seed=1)
    allowed = np.sort(rng.choice(len(table), table_module.EXACT_ROWS + 1, replace=False))
    query = table.vector(int(allowed[7]))
    found = table.nearest(query / np.linalg.norm(query), 10, allowed)
    assert found[0][0] == int(allowed[7]) and {r for r, _ in found} <= set(allowed.tolist())
