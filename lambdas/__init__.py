"""Thin AWS Lambda handlers over automl_lite: parse the input, call the core, return a typed result."""
