"""Checks mpc-run's outputs for the sample plan against NumPy."""
import sys
import numpy as np

out = sys.argv[1]
x = np.array([[1, -2, 3], [0.5, 4, -1]], dtype=np.float32)
w = (np.arange(12) % 5 - 2).astype(np.float32).reshape(3, 4)
y = np.load(f"{out}/y.npy")
assert y.dtype == np.float32 and y.shape == (2, 4), (y.dtype, y.shape)
np.testing.assert_allclose(y, np.maximum(x @ w + 0.5, 0), rtol=1e-6)
np.testing.assert_array_equal(np.load(f"{out}/x_out.npy"), x)
np.testing.assert_array_equal(np.load(f"{out}/w_out.npy"), w)
np.testing.assert_array_equal(np.load(f"{out}/bias_out.npy"), np.full(4, 0.5, np.float32))
print("outputs match")
