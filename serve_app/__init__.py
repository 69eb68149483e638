"""The HTTP and SSE front: a Starlette app that Ray Serve runs with direct ingress."""
