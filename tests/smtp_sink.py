"""A real SMTP server for the tests (aiosmtpd), storing each message as a .eml file.

Usage: python3 tests/smtp_sink.py <port> <directory>
Prints "ready" once listening. Each message is written atomically as <uuid>.eml, preceded by
an "X-Sink-Rcpt-To:" line with the envelope recipients.
"""
import os
import sys
import threading
import uuid

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(self.directory, uuid.uuid4().hex + ".eml")
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        with open(name + ".tmp", "wb") as f:
            f.write(b"X-Sink-Rcpt-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(data)
        os.rename(name + ".tmp", name)
        return "250 Message accepted"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Store(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
