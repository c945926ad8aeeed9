"""Package data: the shipped SPIRAL codebook."""
