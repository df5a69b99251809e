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
    if len(sys.argv) < 3:
        sys.exit("usage: bacnet_pair.py DEVICE_PORT CLIENT_PORT [DEVICE_INSTANCE]")
    inst = int(sys.argv[3]) if len(sys.argv) > 3 else 599
    sys.exit(0 if asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), inst)) else 1)
