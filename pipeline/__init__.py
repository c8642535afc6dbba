"""Credence: raw news texts -> a versioned dataset of diplomatic events (see README.md)."""

import os

# Deduplication multiplies small float32 bit matrices (dedup/keys.py, similarity_matrix), the only
# BLAS work in a build. OpenBLAS's worker threads spin while they wait for work: on a busy
# two-core machine they made the corpus' deduplication swing from 3.6 s to 14 s, and one thread
# is as fast when the machine is quiet (2.8 s both ways). Set before numpy is first imported;
# an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
