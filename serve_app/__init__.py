"""The HTTP and SSE front: a Starlette app each Ray Serve replica serves itself."""
