"""Bazaar's one service description: the vocabulary (`model`) and Bazaar itself (`SERVICE`)."""

from infra.description.bazaar import SERVICE
from infra.description.model import DescriptionError, Service

__all__ = ["SERVICE", "DescriptionError", "Service"]
