"""Moving traffic between backends: the router and the canary controller."""
