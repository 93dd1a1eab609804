"""One module per group of endpoints (containers, exec, images, networks, volumes,
system); each lists its routes in ROUTES."""
