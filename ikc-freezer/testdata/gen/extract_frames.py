#!/usr/bin/env python3
"""Cut the IKC frames (`LEN\\0PAYLOAD`) out of the byte-logged transcripts
captured from Perl IKC, one JSON line per frame on stdout.

Usage: extract_frames.py WIRE_DIR > frames-raw.jsonl
(then describe_frames.pl adds what Perl thaws each payload to.)"""
import ast, json, os, re, sys

wire = sys.argv[1]
for name in sorted(os.listdir(wire)):
    if not name.endswith('.log'):
        continue
    streams = {}
    for line in open(os.path.join(wire, name), encoding='utf-8'):
        line = line.rstrip('\n')
        if not line:
            continue
        direction, literal = line.split(' ', 1)
        streams.setdefault(direction, bytearray()).extend(ast.literal_eval(literal))
    codec = 'Storable' if 'storable' in name else 'POE::Component::IKC::Freezer'
    for direction, data in sorted(streams.items()):
        pos, index = 0, 0
        while pos < len(data):
            m = re.match(rb'(\d+)\0', data[pos:])
            if m:
                length = int(m.group(1))
                start = pos + m.end()
                payload = bytes(data[start:start + length])
                assert len(payload) == length, (name, direction, index)
                print(json.dumps({'file': name, 'direction': direction, 'index': index,
                                  'codec': codec, 'payload_hex': payload.hex()}))
                pos, index = start + length, index + 1
            else:
                end = data.index(b'\n', pos)  # a negotiation line
                pos = end + 1
