# asyncua (PyPI, run with the PATH python3) OPC UA client for tests/live_opcua.rs.
# Usage: opcua_client.py PORT [HOST]
# GetEndpoints; anonymous session: Browse, Read, Write, Call, CreateSubscription; then a session
# with user operator and a wrong password (refused), then one with the right password.
import asyncio, sys
from asyncua import Client, ua

async def main():
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    url = f"opc.tcp://{host}:{port}/edgetap/"
    eps = await Client(url).connect_and_get_server_endpoints()
    print("endpoints", len(eps), flush=True)

    c = Client(url)
    c.application_uri = "urn:edgetap:live:client"
    async with c:
        ns = await c.get_namespace_index("urn:edgetap:plant")
        plant = c.get_node(ua.NodeId("Plant", ns))
        print("browse", [(await n.read_browse_name()).Name for n in await plant.get_children()], flush=True)
        line = c.get_node(ua.NodeId("Line1", ns))
        temp = c.get_node(ua.NodeId("Line1.Temp", ns))
        print("read", await temp.read_value(), flush=True)
        await temp.write_value(30.0)
        print("write ok", flush=True)
        print("call", await line.call_method(ua.NodeId("Line1.Reset", ns), 21), flush=True)
        class H:
            def datachange_notification(self, node, val, data):
                pass
        sub = await c.create_subscription(500, H())
        await sub.delete()

    bad = Client(url)
    bad.application_uri = "urn:edgetap:live:client"
    bad.set_user("operator")
    bad.set_password("wr0ng-edgetap-pw")
    try:
        await bad.connect()
        print("bad login: connected?!", flush=True)
        await bad.disconnect()
        sys.exit(1)
    except ua.UaStatusCodeError as e:
        print("bad login ->", type(e).__name__, flush=True)

    good = Client(url)
    good.application_uri = "urn:edgetap:live:client"
    good.set_user("operator")
    good.set_password("secret")
    async with good:
        print("user login ok", await good.nodes.server_state.read_value(), flush=True)

asyncio.run(main())
