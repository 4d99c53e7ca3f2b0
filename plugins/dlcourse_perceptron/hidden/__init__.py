"""Trusted hidden checks of the perceptron topic (never shipped to students)."""
