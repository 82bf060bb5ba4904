"""Applications built on the filterkit core: speech, text and go. Imported as ``filterkit.apps``."""
