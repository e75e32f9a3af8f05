"""Search: the store interface, the stores that serve it, and retrieval fusing dense and keyword rankings."""
