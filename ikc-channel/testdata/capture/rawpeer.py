#!/usr/bin/env python3
"""Scripted raw peer that logs every read like the wire/ transcripts.
rawpeer.py client PORT LOG step...   (connects)
rawpeer.py server PORT LOG step...   (listens, one connection)
step: 'r'        read once (wait up to 3s)
      'x:HEX'    send raw bytes (hex)
      'R'        read until peer closes or 1.5s idle
      other      send the text + CRLF
Our side is tagged as C>S when we are the client, S>C when we are the server."""
import socket, sys, select, binascii
role, port, logf, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
if role == 'client':
    s = socket.create_connection(('127.0.0.1', port)); me, them = 'C>S', 'S>C'
else:
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', port)); ls.listen(1); print('listening', flush=True)
    s, _ = ls.accept(); me, them = 'S>C', 'C>S'
out = open(logf, 'w')
def log(tag, data): out.write(f"{tag} {data!r}\n"); out.flush()
def read(timeout):
    r, _, _ = select.select([s], [], [], timeout)
    if not r: return None
    d = s.recv(65536)
    log(them, d) if d else out.write('# peer closed\n')
    return d
for st in steps:
    if st == 'r':
        read(3)
    elif st == 'R':
        while True:
            d = read(1.5)
            if not d: break
    elif st.startswith('x:'):
        d = binascii.unhexlify(st[2:]); s.sendall(d); log(me, d)
    else:
        d = st.encode() + b'\r\n'; s.sendall(d); log(me, d)
out.close()
