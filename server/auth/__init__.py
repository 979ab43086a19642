"""Who may call: API keys, the identity each call acts with, and per-key rate limits."""
