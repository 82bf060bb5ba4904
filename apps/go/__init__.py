"""filterkit go app."""
