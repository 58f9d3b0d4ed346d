"""A plain NATS client (nats-py, not ours) calling IKC states.

Usage: client.py URL KERNEL

Prints one JSON line per step: {"step": ..., "data": ..., "error": ..., "code": ...}.
"""
import asyncio
import json
import sys

import nats


async def main(url, kernel):
    nc = await nats.connect(url)

    async def request(step, subject, body):
        msg = await nc.request(subject, body, timeout=20)
        headers = msg.headers or {}
        out = {"step": step, "data": msg.data.decode()}
        if "Nats-Service-Error" in headers:
            out["error"] = headers["Nats-Service-Error"]
            out["code"] = headers.get("Nats-Service-Error-Code")
        print(json.dumps(out), flush=True)

    await request("call", f"ikc.{kernel}.test.add_1", b"41")
    await request("echo", f"ikc.{kernel}.test.echo", b'{"list":[1,2.5,null,"x"],"n":-3}')
    await request("empty", f"ikc.{kernel}.test.echo", b"")
    await request("ping", f"ikc.{kernel}.IKC.ping", b"")
    await request("broadcast", "ikc.%2A.test.add_1", b"1")
    await request("unpublished", f"ikc.{kernel}.test.secret", b"1")
    await request("unknown-session", f"ikc.{kernel}.nope.add_1", b"1")
    await request("not-json", f"ikc.{kernel}.test.add_1", b"{oops")
    await nc.publish(f"ikc.{kernel}.test.here", b'"posted"')
    await nc.flush()
    print(json.dumps({"step": "posted"}), flush=True)
    await nc.close()


asyncio.run(main(sys.argv[1], sys.argv[2]))
