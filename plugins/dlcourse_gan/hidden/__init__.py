"""Trusted hidden checks of the GAN topic (never shipped to students)."""
