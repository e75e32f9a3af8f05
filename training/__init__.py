"""Training recipes for the models newsbot ships (never run in CI): `python -m training.reader`."""
