"""Accounts: the rules behind registration, sign-in and password reset.

Plain modules without I/O: email normalisation, the password policy, argon2
hashing, token helpers, session lifetimes and the sign-in throttle. The HTTP
flows in server/routes/auth.py and the rows in storage/accounts.py use them.
"""
