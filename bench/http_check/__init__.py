"""Trustgate's sign-in risk decisions checked over HTTP, as an outsider would."""
