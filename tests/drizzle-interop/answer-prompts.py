"""Runs a command in a pseudo-terminal and answers its interactive prompts.

drizzle-kit generate asks, on a terminal only, whether a name that appeared while another
disappeared is new or renamed. This answers such prompts from a file, one line per prompt,
each line the keys to press: `down`, `up`, `enter` (e.g. `down enter` picks the second
choice), so that fixtures needing a rename can be made without a person at the keyboard.

    python3 answer-prompts.py ANSWERS_FILE COMMAND [ARG...]

The command's output is copied to stdout; the exit status is the command's. It fails when
the command asks more questions than the file answers, or answers are left over.
"""

import os
import pty
import select
import sys
import time

KEYS = {"down": b"\x1b[B", "up": b"\x1b[A", "enter": b"\r"}
PROMPT = b"created or renamed"
ANSWERED = b"will be "


def main():
    answers_file, command = sys.argv[1], sys.argv[2:]
    with open(answers_file) as f:
        answers = [line.split() for line in f if line.strip()]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    out = b""
    seen = 0  # where the next prompt is looked for
    given = 0
    deadline = time.time() + 300
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        at = out.find(PROMPT, seen)
        if at < 0:
            continue
        if given == len(answers):
            os.kill(pid, 9)
            sys.stdout.write(out.decode(errors="replace"))
            sys.exit("answer-prompts: the command asked more questions than the file answers")
        # Let the prompt finish drawing before pressing keys.
        time.sleep(0.3)
        for key in answers[given]:
            os.write(fd, KEYS[key])
            time.sleep(0.1)
        given += 1
        # The next question comes after this one's confirmation line.
        while ANSWERED not in out[at:] and time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                out += data
        seen = out.find(ANSWERED, at) + len(ANSWERED)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    if given != len(answers):
        sys.exit(f"answer-prompts: {len(answers) - given} answer(s) left unused")
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
