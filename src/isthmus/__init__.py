"""isthmus: a standardized, configurable integration layer between a core product and its
customers' external systems."""

__version__ = "0.1.0"

__all__ = ["__version__"]
