"""Neural-network toolkit: learnable kernel layers, the model zoo, summaries, the training engine."""
