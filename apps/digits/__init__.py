"""Fixed vs learned first layers on handwritten digits (MNIST or scikit-learn's digits)."""
