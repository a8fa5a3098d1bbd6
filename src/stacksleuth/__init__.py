"""stacksleuth: finds why an OpenStack operation failed, from the logs the cloud left behind."""

__version__ = "0.1.0"
