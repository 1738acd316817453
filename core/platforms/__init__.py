"""One module per kind of space, behind one interface; the registry of them all."""
