"""Facts about a host and its configuration (`stacksleuth check`): one small module per area, all read
through one `Host` (live, or a host root / sosreport on disk), each returning checks and findings."""
