"""What every part stands on: configuration, connections, the catalog, search, platforms."""
