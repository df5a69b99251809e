# AMQP 1.0 client for tests/live_amqp.rs (Debian's python3-qpid-proton: run with /usr/bin/python3).
# Usage: amqp_proton_session.py URL ADDRESS            one session: open/begin/attach (sender and
#        receiver)/flow/transfer x3/disposition/detach/end/close
#        amqp_proton_session.py --bad-login URL          SASL PLAIN with a wrong password (expects failure)
import sys
from proton import Endpoint, Message
from proton.reactor import Container
from proton.utils import BlockingConnection

if sys.argv[1] == "--bad-login":
    try:
        BlockingConnection(sys.argv[2], timeout=15, allowed_mechs="PLAIN")
        print("bad login: connected?!", flush=True)
        sys.exit(1)
    except Exception as e:
        print("bad login ->", type(e).__name__, str(e)[:120], flush=True)
    sys.exit(0)

url, address = sys.argv[1], sys.argv[2]
ct = Container()
ct.container_id = "edgetap-live-client"
c = BlockingConnection(url, timeout=10, container=ct)
s = c.create_sender(address, name="edgetap-sender")
for i in range(3):
    s.send(Message(body='{"t":%d}' % (20 + i), subject="line.1.temp", content_type="application/json", id=i))
print("sent 3", flush=True)
r = c.create_receiver(address, name="edgetap-receiver", credit=10)
for i in range(3):
    m = r.receive(timeout=10)
    r.accept()
    print("recv", m.body, flush=True)
session = s.link.session
s.close()
r.close()
# End the session explicitly (closing the connection alone sends no end frame).
session.close()
c.wait(lambda: session.state & Endpoint.REMOTE_CLOSED, timeout=10, msg="waiting for end")
c.close()
print("closed", flush=True)
