"""litreview: literature review management."""
