"""Rules configuration: the models, the loader and the shipped defaults."""
