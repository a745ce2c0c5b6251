"""Measurement models: confirmatory factor analysis (lavaan), measurement invariance,
common-method tests (Harman, ULMC), and further measurement helpers."""
