"""Trusted hidden checks of the cnn topic (never shipped to students)."""
