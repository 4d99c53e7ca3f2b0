"""Trusted hidden checks of the variational autoencoder topic (never shipped to students)."""
