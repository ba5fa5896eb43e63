"""db4e: supervisor, log parser and reporting for a home Monero mining farm."""

__version__ = "0.1.0"
