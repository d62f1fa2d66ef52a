"""Built-in plugins, registered through the entry-point group like any third-party plugin."""
