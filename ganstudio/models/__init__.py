"""Model catalog, download store, converters and safe loading."""
