"""Device recognition for risk-based two-factor authentication."""
