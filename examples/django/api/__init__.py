"""api: the example endpoints: JWT issue and refresh, a protected view, benchmark views."""
