"""Live comments: real-time comments for live videos and posts, on Ray."""
