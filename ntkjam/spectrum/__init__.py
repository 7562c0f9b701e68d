"""Spectra of Gram matrices as a function of φ = N/P, measured and predicted."""
