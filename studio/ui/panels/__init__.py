"""Bottom-dock panels: model summary and problems list."""
