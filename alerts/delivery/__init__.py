"""Alert delivery: preferences, the transition decision, composition and fan-out."""
