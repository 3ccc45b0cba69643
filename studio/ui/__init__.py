"""Qt widgets of the Studio desktop app."""
