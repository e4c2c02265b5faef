"""The engine: catalog, scanning, embedding, index, search. No Qt here (a test enforces it)."""
