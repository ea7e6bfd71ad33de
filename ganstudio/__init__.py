"""GAN Studio: a desktop image editor with local GAN tools."""

__version__ = "0.1.0"
