"""filterkit speech app."""
