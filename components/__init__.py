"""One ComponentResource per concern; ``__main__.py`` composes them."""
