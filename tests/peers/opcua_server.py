# asyncua (PyPI, run with the PATH python3) OPC UA server for tests/live_opcua.rs.
# Usage: opcua_server.py PORT
# Endpoint opc.tcp://127.0.0.1:PORT/edgetap/, SecurityPolicy None, anonymous and user
# operator/secret; a folder Plant with object Line1 (Temp writable, Running, Count) and a method.
import asyncio, datetime, sys
from asyncua import Server, ua, uamethod
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager

class Users(UserManager):
    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username is None:
            return User(role=UserRole.User)
        if username == "operator" and password == "secret":
            return User(role=UserRole.User)
        return None

@uamethod
def reset(parent, x):
    return x * 2

async def main():
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    s = Server(user_manager=Users())
    await s.init()
    s.set_endpoint(f"opc.tcp://{host}:{port}/edgetap/")
    s.set_server_name("edgetap live PLC")
    s.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    await s.set_application_uri("urn:edgetap:live:server")
    await s.set_build_info("urn:edgetap:live", "EdgetapLive", "asyncua-live", "2.1.0", "1", datetime.datetime(2024, 1, 1))
    idx = await s.register_namespace("urn:edgetap:plant")
    plant = await s.nodes.objects.add_folder(ua.NodeId("Plant", idx), "Plant")
    line = await plant.add_object(ua.NodeId("Line1", idx), "Line1")
    temp = await line.add_variable(ua.NodeId("Line1.Temp", idx), "Temp", 21.5)
    await temp.set_writable()
    await line.add_variable(ua.NodeId("Line1.Running", idx), "Running", True)
    await line.add_variable(ua.NodeId("Line1.Count", idx), "Count", 7)
    await line.add_method(ua.NodeId("Line1.Reset", idx), "Reset", reset, [ua.VariantType.Int64], [ua.VariantType.Int64])
    async with s:
        print("ready", flush=True)
        while True:
            await asyncio.sleep(3600)

asyncio.run(main())
