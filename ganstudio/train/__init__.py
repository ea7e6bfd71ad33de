"""Training loops for the built-in models."""
