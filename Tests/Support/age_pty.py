#!/usr/bin/env python3
"""Runs `age` with a passphrase typed on a pseudo-terminal (age reads passphrases only from a TTY).

    age_pty.py PASSPHRASE age -d -o OUT IN      # decrypt a passphrase file
    age_pty.py PASSPHRASE age -p -o OUT IN      # encrypt (the passphrase is asked twice)

Exits with age's status; what age printed on the terminal goes to stderr.
"""
import os
import pty
import sys


def main():
    passphrase = sys.argv[1].encode() + b"\n"
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[2], sys.argv[2:])
    seen = b""
    while True:
        try:
            data = os.read(fd, 1024)
        except OSError:
            break
        if not data:
            break
        seen += data
        # Each prompt ("Enter passphrase…:", "Confirm passphrase:") ends with a colon and a space.
        while b"passphrase" in seen.lower() and b": " in seen:
            os.write(fd, passphrase)
            seen = seen[seen.index(b": ") + 2:]
    _, status = os.waitpid(pid, 0)
    sys.stderr.write(seen.decode(errors="replace"))
    sys.exit(os.waitstatus_to_exitcode(status))


main()
