"""colorgen: generative colourization of structured web pages."""

__version__ = "0.1.0"
