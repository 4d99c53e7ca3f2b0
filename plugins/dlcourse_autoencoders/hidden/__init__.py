"""Trusted hidden checks of the autoencoders topic (never shipped to students)."""
