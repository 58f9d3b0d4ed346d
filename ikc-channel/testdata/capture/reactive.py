#!/usr/bin/env python3
"""Reactive line server: reactive.py PORT LOG MODE. Logs reads like wire/ transcripts."""
import socket, sys, select
port, logf, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', port)); ls.listen(1); print('listening', flush=True)
s, _ = ls.accept()
out = open(logf, 'w')
def log(tag, d): out.write(f"{tag} {d!r}\n"); out.flush()
def send(line):
    d = line.encode() + b'\r\n'; s.sendall(d); log('S>C', d)
buf = b''; framing = False; iam_sent = False
while True:
    r, _, _ = select.select([s], [], [], 3)
    if not r: break
    d = s.recv(65536)
    if not d: out.write('# peer closed\n'); break
    log('C>S', d)
    if framing: continue
    buf += d
    while b'\r\n' in buf and not framing:
        line, buf = buf.split(b'\r\n', 1); line = line.decode()
        if line.startswith('SETUP'):
            if mode == 'not': send('NOT')
            elif mode == 'badsetup': send('SETUP KERNEL=Srv;FREEZER=Storable,POE::Component::IKC::Freezer;PID=5')
            elif mode == 'garbage': send('WHAT?')
            elif mode == 'ok': send('SETUP KERNEL=srv-id,Srv,127.0.0.1:1;FREEZER=Storable;PID=5'); framing = True
        elif line == 'HELLO': send('IAM srv-id'); iam_sent = True
        elif line == 'OK' and iam_sent: send('DONE'); iam_sent = False
        elif line.startswith('IAM'): send('OK')
        elif line.startswith('FREEZER'): send('NOT' if mode in ('not', 'badsetup', 'garbage') else 'OK')
        elif line == 'WORLD': send('UP'); framing = True
out.close()
