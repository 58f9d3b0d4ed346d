#!/usr/bin/env python3
"""Byte-logging TCP relay: relay.py LISTEN_PORT TARGET_PORT LOGFILE (one connection)."""
import socket, sys, selectors
lport, tport, logf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', lport)); ls.listen(1)
print("listening", flush=True)
c, _ = ls.accept()
s = socket.create_connection(('127.0.0.1', tport))
sel = selectors.DefaultSelector()
sel.register(c, selectors.EVENT_READ, ('C>S', s)); sel.register(s, selectors.EVENT_READ, ('S>C', c))
out = open(logf, 'w')
open_ = 2
while open_:
    for key, _ in sel.select():
        tag, dst = key.data
        data = key.fileobj.recv(65536)
        if not data:
            sel.unregister(key.fileobj); open_ -= 1
            try: dst.shutdown(socket.SHUT_WR)
            except OSError: pass
            continue
        out.write(f"{tag} {data!r}\n"); out.flush()
        dst.sendall(data)
