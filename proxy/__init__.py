"""The cluster proxy: one endpoint for cluster-unaware clients."""
