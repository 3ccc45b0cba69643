"""Studio's Qt desktop application (the engine is in the `engine` package)."""
