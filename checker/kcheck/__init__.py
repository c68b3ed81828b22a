"""kcheck: a model checker for Kubernetes-style systems."""

__version__ = "0.1.0"
