"""gitpar: coordinate parallel work streams in one git repository."""

__version__ = "0.1.0"
