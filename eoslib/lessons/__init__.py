"""Course helpers for the notebooks (predict-then-reveal, ...)."""
