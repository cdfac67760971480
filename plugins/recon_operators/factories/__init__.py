"""DAG builders: DAG files stay a few lines and build from include/config through these."""
