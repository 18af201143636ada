"""Names alethiometer imports; never used."""
Compose = ToTensor = Normalize = None
