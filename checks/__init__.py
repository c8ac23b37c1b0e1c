"""Data-quality asset checks of the chain."""
