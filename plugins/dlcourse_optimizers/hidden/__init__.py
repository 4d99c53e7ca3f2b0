"""Trusted hidden checks of the optimizers topic (never shipped to students)."""
