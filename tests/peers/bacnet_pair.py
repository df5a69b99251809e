#!/usr/bin/env python3
"""A bacpypes3 BACnet/IP device and client in one asyncio loop, talking unicast over loopback.

Used by tests/live_bacnet.rs and scripts/record-mqtt-bacnet.sh (modelled on
/work/shared/pcaps/peers/bacnet/bacnet_pair.py). Run with the python3 that has bacpypes3
(`pip install bacpypes3`).

    python3 bacnet_pair.py DEVICE_PORT CLIENT_PORT [DEVICE_INSTANCE]

The device (instance DEVICE_INSTANCE, default 599, vendor 260) listens on 127.0.0.1:DEVICE_PORT
with one analog-value object; the client on 127.0.0.1:CLIENT_PORT does, in this order:
Who-Is (unicast, range = the instance), ReadProperty of the device's object-name, model-name,
firmware-revision, application-software-version and vendor-identifier, ReadPropertyMultiple,
WriteProperty of analog-value,1 present-value (priority 8), ReadProperty of analog-value,99
(unknown object -> Error). Each result is printed as one JSON line on stdout; the exit status
is 0 only if every step gave the expected kind of answer.
"""
import asyncio, json, sys

from bacpypes3.pdu import Address, IPv4Address
from bacpypes3.ipv4.app import NormalApplication
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.analog import AnalogValueObject
from bacpypes3.apdu import ErrorRejectAbortNack

VENDOR_ID = 260  # "BACnet Stack at SourceForge" in the ASHRAE vendor table


def out(step, **kw):
    print(json.dumps({"step": step, **kw}, default=str), flush=True)


def mkdev(inst, name):
    return DeviceObject(
        objectIdentifier=("device", inst), objectName=name, vendorIdentifier=VENDOR_ID,
        vendorName="edgetap-test", modelName="edgetap-live-sim", firmwareRevision="fw-1.2.3",
        applicationSoftwareVersion="app-4.5.6",
    )


async def serve_device(host, prefix, dev_port, inst):
    """Device only, forever (for tests whose client runs in another network namespace)."""
    srv = NormalApplication(mkdev(inst, f"plc-{inst}"), IPv4Address(f"{host}/{prefix}:{dev_port}"))
    srv.add_object(AnalogValueObject(objectIdentifier=("analogValue", 1), objectName="temp-1",
                                     presentValue=21.5, statusFlags=[0, 0, 0, 0], units="degreesCelsius"))
    out("device-ready")
    while True:
        await asyncio.sleep(3600)


async def client_only(host, prefix, cli_port, dev_host, dev_port, inst, rounds):
    """Client only: ReadProperty of the device's object-name and vendor-identifier, `rounds` times."""
    cli = NormalApplication(mkdev(inst + 1, f"client-{inst + 1}"), IPv4Address(f"{host}/{prefix}:{cli_port}"))
    dst = Address(f"{dev_host}:{dev_port}")
    try:
        for _ in range(rounds):
            for prop in ["object-name", "vendor-identifier"]:
                v = await asyncio.wait_for(cli.read_property(dst, f"device,{inst}", prop), 10)
                out("read-property", prop=prop, value=v)
            await asyncio.sleep(1)
    finally:
        cli.close()
    return True


async def main(dev_port, cli_port, inst):
    ok = True
    srv = NormalApplication(mkdev(inst, f"plc-{inst}"), IPv4Address(f"127.0.0.1/8:{dev_port}"))
    av = AnalogValueObject(objectIdentifier=("analogValue", 1), objectName="temp-1", presentValue=21.5,
                           statusFlags=[0, 0, 0, 0], units="degreesCelsius")
    srv.add_object(av)
    cli = NormalApplication(mkdev(inst + 1, f"client-{inst + 1}"), IPv4Address(f"127.0.0.1/8:{cli_port}"))
    dst = Address(f"127.0.0.1:{dev_port}")
    dev = f"device,{inst}"
    try:
        iams = await asyncio.wait_for(cli.who_is(inst, inst, dst), 10)
        out("who-is", i_ams=[str(i.iAmDeviceIdentifier) for i in iams])
        ok &= len(iams) == 1
        for prop in ["object-name", "model-name", "firmware-revision", "application-software-version",
                     "vendor-identifier"]:
            v = await asyncio.wait_for(cli.read_property(dst, dev, prop), 10)
            out("read-property", prop=prop, value=v)
        v = await asyncio.wait_for(cli.read_property_multiple(
            dst, [dev, ["vendor-name", "model-name"], "analog-value,1", ["present-value", "units"]]), 10)
        out("read-property-multiple", value=v)
        v = await asyncio.wait_for(cli.write_property(dst, "analog-value,1", "present-value", 22.0, None, 8), 10)
        out("write-property", value=v)
        ok &= float(av.presentValue) == 22.0
        try:
            v = await asyncio.wait_for(cli.read_property(dst, "analog-value,99", "present-value"), 10)
            out("read-unknown-object", unexpected=v)
            ok = False
        except ErrorRejectAbortNack as e:
            out("read-unknown-object", error=e)
    finally:
        await asyncio.sleep(0.1)
        cli.close()
        srv.close()
    return ok


if __name__ == "__main__":
    # bacnet_pair.py device HOST PREFIX PORT INSTANCE
    # bacnet_pair.py client HOST PREFIX PORT DEVICE_HOST DEVICE_PORT INSTANCE ROUNDS
    if len(sys.argv) > 1 and sys.argv[1] == "device":
        h, pfx, port, inst = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        asyncio.run(serve_device(h, pfx, port, inst))
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        h, pfx, port, dh, dp, inst, rounds = sys.argv[2:9]
        sys.exit(0 if asyncio.run(client_only(h, pfx, int(port), dh, int(dp), int(inst), int(rounds))) else 1)
    if len(sys.argv) < 3:
        sys.exit("usage: bacnet_pair.py DEVICE_PORT CLIENT_PORT [DEVICE_INSTANCE]")
    inst = int(sys.argv[3]) if len(sys.argv) > 3 else 599
    sys.exit(0 if asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), inst)) else 1)
