# AMQP 0-9-1 client for tests/live_amqp.rs (pika, Debian's python3-pika: run with /usr/bin/python3).
# Usage: amqp_pika_session.py PORT USER GOOD_PASSWORD BAD_PASSWORD
# One session: exchange/queue declare, bind, 3 publishes with routing keys, consume + ack,
# then a connection with a wrong password (RabbitMQ answers connection.close 403 ACCESS_REFUSED).
import sys
import pika

port, user, good, bad = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def params(pw, name):
    return pika.ConnectionParameters("127.0.0.1", port, "/", pika.PlainCredentials(user, pw),
                                     heartbeat=30, connection_attempts=1,
                                     client_properties={"connection_name": name})

c = pika.BlockingConnection(params(good, "edgetap-live"))
ch = c.channel()
ch.exchange_declare("plant", "topic", durable=False)
ch.queue_declare("telemetry", auto_delete=True)
ch.queue_bind("telemetry", "plant", "line.*.temp")
keys = ["line.1.temp", "line.2.temp", "line.3.temp"]
for i, k in enumerate(keys):
    ch.basic_publish("plant", k, b'{"t":%d}' % (20 + i),
                     pika.BasicProperties(content_type="application/json", message_id=str(i)))
n = 0
for m, props, body in ch.consume("telemetry", inactivity_timeout=2):
    if m is None:
        break
    ch.basic_ack(m.delivery_tag)
    n += 1
    if n == len(keys):
        break
ch.cancel()
c.close()
print("consumed", n, flush=True)
assert n == len(keys), f"consumed {n} of {len(keys)}"

try:
    pika.BlockingConnection(params(bad, "edgetap-badlogin"))
    print("bad login: connected?!", flush=True)
    sys.exit(1)
except pika.exceptions.ProbableAccessDeniedError as e:
    print("bad login ->", type(e).__name__, flush=True)
except pika.exceptions.ProbableAuthenticationError as e:
    print("bad login ->", type(e).__name__, flush=True)
