"""Trusted hidden checks of the recurrent-networks topic (never shipped to students)."""
