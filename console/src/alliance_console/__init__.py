"""Alliance cost-control cockpit: a web console for alliance administrators and regulators."""

__version__ = "0.1.0"
