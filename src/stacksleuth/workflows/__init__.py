"""Stage machines of OpenStack operations, loaded from knowledge/workflows/*.yaml."""
