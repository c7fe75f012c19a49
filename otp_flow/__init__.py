"""Enrollment, step-up verification and backup codes, on django-otp."""
