"""Hosting: opening rooms on the room server, promoting spaces, the host dashboard."""
