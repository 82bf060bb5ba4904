"""filterkit text app."""
