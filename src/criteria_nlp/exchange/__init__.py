"""Exchange formats with qualitative-analysis software (REFI-QDA)."""
