"""Join events into operations: request ids, global request ids, instance ids, time."""
