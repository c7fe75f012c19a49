"""A TRUST_ENROLLMENT_REQUIRED policy for the tests: staff must enroll."""


def staff_must_enroll(user) -> bool:
    return user.is_staff
