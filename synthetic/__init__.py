"""Synthetic sources that behave like the real ones. No real child's data, ever."""
