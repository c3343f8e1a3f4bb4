"""Operations: health, the scheduler heartbeat, job runs and admin diagnostics."""
