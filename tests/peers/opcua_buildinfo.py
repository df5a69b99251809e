# asyncua (PyPI, run with the PATH python3) peers for pcaps/opcua/asyncua-buildinfo.pcap
# (scripts/record-amqp-opcua.sh opcua-buildinfo).
# Usage: opcua_buildinfo.py server|client PORT [HOST]
# The server (opc.tcp://HOST:PORT/buildinfo/, HOST default 127.0.0.2 so that the client, on
# 127.0.0.1, is another device; SecurityPolicy None, anonymous) has its
# BuildInfo set to the values below. The client reads, in three ReadRequests: Server_ServerStatus
# (i=2256); Server_ServerStatus_BuildInfo (i=2260); then Server_ServerStatus_State (i=2259, not
# part of BuildInfo) followed by the children ProductName (i=2261), ManufacturerName (i=2263),
# SoftwareVersion (i=2264), BuildNumber (i=2265) and ProductUri (i=2262).
import asyncio, datetime, sys
from asyncua import Client, Server, ua

PRODUCT_URI = "urn:edgetap:buildinfo:product"
MANUFACTURER = "Edgetap Test Works"
PRODUCT_NAME = "BuildInfo Demo Server"
SOFTWARE_VERSION = "3.4.5"
BUILD_NUMBER = "20261203.42"
BUILD_DATE = datetime.datetime(2026, 12, 1, 12, 0, 0)

async def server(port, host):
    s = Server()
    await s.init()
    s.set_endpoint(f"opc.tcp://{host}:{port}/buildinfo/")
    s.set_server_name("edgetap buildinfo server")
    s.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    await s.set_application_uri("urn:edgetap:buildinfo:server")
    await s.set_build_info(PRODUCT_URI, MANUFACTURER, PRODUCT_NAME, SOFTWARE_VERSION, BUILD_NUMBER, BUILD_DATE)
    async with s:
        print("ready", flush=True)
        while True:
            await asyncio.sleep(3600)

async def client(port, host):
    c = Client(f"opc.tcp://{host}:{port}/buildinfo/")
    c.application_uri = "urn:edgetap:buildinfo:client"
    async with c:
        status = await c.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus)).read_value()
        print("status", status.BuildInfo, flush=True)
        build = await c.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus_BuildInfo)).read_value()
        print("buildinfo", build, flush=True)
        ids = [
            ua.ObjectIds.Server_ServerStatus_State,
            ua.ObjectIds.Server_ServerStatus_BuildInfo_ProductName,
            ua.ObjectIds.Server_ServerStatus_BuildInfo_ManufacturerName,
            ua.ObjectIds.Server_ServerStatus_BuildInfo_SoftwareVersion,
            ua.ObjectIds.Server_ServerStatus_BuildInfo_BuildNumber,
            ua.ObjectIds.Server_ServerStatus_BuildInfo_ProductUri,
        ]
        values = await c.read_values([c.get_node(ua.NodeId(i)) for i in ids])
        print("children", values, flush=True)

host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.2"
asyncio.run({"server": server, "client": client}[sys.argv[1]](int(sys.argv[2]), host))
