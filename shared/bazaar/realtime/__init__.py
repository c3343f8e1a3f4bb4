"""Live updates over WebSocket: who receives which event, connections, replay (docs/realtime.md)."""
