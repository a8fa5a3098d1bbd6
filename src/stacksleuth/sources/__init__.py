"""Where bytes come from: directories, sosreports, tarballs of many nodes."""
