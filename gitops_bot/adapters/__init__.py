"""One module per outside system; each wraps library errors and returns project dataclasses."""
