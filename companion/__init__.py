"""Companion to "Feature Learning in Wide Neural Networks under muP": the mean-field engine and the notebook pipeline."""

__version__ = "0.1.0"
