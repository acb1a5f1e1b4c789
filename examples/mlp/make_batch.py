#!/usr/bin/env python3
"""Writes one batch of synthetic inputs (x.npy, labels.npy) for the example MLP."""
import argparse
import os

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out_dir")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--features", type=int, default=784)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out_dir, exist_ok=True)
    np.save(os.path.join(a.out_dir, "x.npy"),
            rng.standard_normal((a.batch, a.features)).astype(np.float32))
    np.save(os.path.join(a.out_dir, "labels.npy"),
            rng.integers(0, a.classes, a.batch).astype(np.int64))


if __name__ == "__main__":
    main()
