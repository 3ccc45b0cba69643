"""Dialogs: example gallery."""
