#!/usr/bin/env python3
"""Writes synthetic data for the example MLP.

Inputs are N(0, 1); labels come from a fixed random linear "teacher", so the
task is learnable and the training loss visibly falls.

  make_batch.py DIR                 one batch: DIR/x.npy, DIR/labels.npy
  make_batch.py DIR --batches 16    DIR/0/ ... DIR/15/, one batch each
                                    (the layout `mpc-run --train --data` reads)
"""
import argparse
import os

import numpy as np


def batch(rng, teacher, size, features):
    x = rng.standard_normal((size, features)).astype(np.float32)
    return x, (x @ teacher).argmax(1).astype(np.int64)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out_dir")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--features", type=int, default=784)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--batches", type=int, default=0,
                   help="write this many batches in numbered subdirectories")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    teacher = np.random.default_rng(1234).standard_normal((a.features, a.classes))
    dirs = [a.out_dir] if a.batches == 0 else [os.path.join(a.out_dir, str(i))
                                               for i in range(a.batches)]
    for d in dirs:
        os.makedirs(d, exist_ok=True)
        x, labels = batch(rng, teacher, a.batch, a.features)
        np.save(os.path.join(d, "x.npy"), x)
        np.save(os.path.join(d, "labels.npy"), labels)


if __name__ == "__main__":
    main()
