"""Rooms and their placement: plain classes; ``actors.remote`` makes them Ray actors."""
