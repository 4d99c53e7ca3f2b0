"""Trusted hidden checks of the regularisation topic (never shipped to students)."""
