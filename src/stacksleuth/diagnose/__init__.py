"""From operations and events to ranked findings, using the rules in knowledge/rules."""
