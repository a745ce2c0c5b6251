"""Kernels that know nothing of models or studies: formulas and designs, demeaning,
small statistics, parallel execution, errors."""
