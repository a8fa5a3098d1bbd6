"""The lab: a real all-in-one OpenStack Zed (Debian 12 packages) that breaks on purpose.

`stacksleuth lab up` installs and starts it, `lab break SCENARIO` injects one known failure, triggers the
operation, waits for its end state, collects what every service logged and restores the lab. Scenarios are
data (`scenarios/<name>.yaml`); the steps they use are small injectors (`injectors.py`).
"""
