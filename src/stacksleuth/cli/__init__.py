"""The command line: the only code that prints, exits, or turns errors into one line."""
