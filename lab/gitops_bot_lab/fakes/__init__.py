"""Contract-validated stand-ins for systems that cannot run on a test machine."""
