"""The feature families, one module each: ``compute`` turns conversation sides into rows of ``METRICS``."""
