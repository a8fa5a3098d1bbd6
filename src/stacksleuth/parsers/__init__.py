"""One parser per real log format; each turns lines into event rows and counts what it could not read."""
