"""A stand-in desktop notification service for tests, on a private D-Bus session.

Run as `dbus-run-session -- python tests/ui/notify_service.py MODE RECORD_FILE`. It connects
to the session bus dbus-run-session made, and in mode

- `serve`: owns org.freedesktop.Notifications and answers Notify (a new id each call),
  GetCapabilities and GetServerInformation as a notification server does; every Notify
  call is appended to RECORD_FILE as one JSON line (app name, replaces id, icon, summary,
  body, actions, hints, expire timeout);
- `mute`: owns the name and never answers (a hung server);
- `absent`: owns nothing (a session without a notification server).

It prints `READY <bus address>` once the name is owned, and exits when its standard input
closes (so a test that dies leaves nothing behind) or on a `Quit` call.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from jeepney import HeaderFields, MessageType, message_bus, new_error, new_method_return
from jeepney.io.blocking import open_dbus_connection

NAME = "org.freedesktop.Notifications"
DO_NOT_QUEUE = 4


def _exit_on_eof() -> None:
    sys.stdin.read()
    os._exit(0)


def main() -> int:
    mode, record = sys.argv[1], sys.argv[2]
    threading.Thread(target=_exit_on_eof, daemon=True).start()
    conn = open_dbus_connection(bus="SESSION")
    if mode in ("serve", "mute"):
        reply = conn.send_and_get_reply(message_bus.RequestName(NAME, DO_NOT_QUEUE))
        if reply.body[0] != 1:  # DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
            print(f"FAILED RequestName answered {reply.body[0]}", flush=True)
            return 1
    print("READY", os.environ["DBUS_SESSION_BUS_ADDRESS"], flush=True)
    count = 0
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        member = msg.header.fields.get(HeaderFields.member)
        if mode == "mute":
            continue
        if member == "Notify":
            count += 1
            app, replaces, icon, summary, body, actions, hints, expire = msg.body
            with open(record, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({
                    "app_name": app, "replaces_id": replaces, "app_icon": icon,
                    "summary": summary, "body": body, "actions": actions,
                    "hints": {k: v[1] for k, v in hints.items()}, "expire_timeout": expire,
                }) + "\n")
            conn.send(new_method_return(msg, "u", (count,)))
        elif member == "GetCapabilities":
            conn.send(new_method_return(msg, "as", (["body"],)))
        elif member == "GetServerInformation":
            conn.send(new_method_return(msg, "ssss", ("stand-in", "takes-tests", "1", "1.2")))
        elif member == "Quit":
            conn.send(new_method_return(msg))
            return 0
        else:
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s",
                                (f"no method {member}",)))


if __name__ == "__main__":
    sys.exit(main())
