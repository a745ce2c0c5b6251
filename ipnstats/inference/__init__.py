"""Inference that any estimator uses: sandwich covariances and their small-sample
corrections, resampling, multiple testing."""
