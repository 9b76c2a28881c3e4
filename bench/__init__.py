"""Side-by-side storage benchmark: agno_nb vs agno 1.8.4 (see bench/README.md)."""
