"""The ``hospital-complaints`` command line."""
