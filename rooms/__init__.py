"""The room server: live audio rooms over WebRTC, with public pages and a directory."""
