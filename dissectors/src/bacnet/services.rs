//! Service parameters (ASHRAE 135 clauses 13-16 and 21): the remote device management, object
//! access, file access, alarm/COV and discovery services edgetap decodes; everything else is
//! kept as its header only.

use super::apdu::{COMPLEX_ACK, CONFIRMED_REQUEST, ERROR, UNCONFIRMED_REQUEST};
use super::pdu::Fields;
use super::tags::{be_signed, Kind, ObjectId, Reader, TagError, Value};
use super::vendors::vendor_name;
use super::Out;
use crate::{FactKind, FactValue};

type Res<T> = Result<T, TagError>;

const BAD: TagError = TagError::Invalid;

/// Object type of the Device object.
const DEVICE: u16 = 8;

/// Decode the parameters of service `s` in an APDU of type `t`.
pub(crate) fn decode<'a>(
    t: u8,
    s: u8,
    r: &mut Reader<'a>,
    pdu: &mut Fields<'a>,
    out: &mut Out<'a>,
) -> Res<()> {
    match (t, s) {
        (UNCONFIRMED_REQUEST, 0) => i_am(r, pdu, out),
        (UNCONFIRMED_REQUEST, 1) => i_have(r, pdu),
        (UNCONFIRMED_REQUEST, 2) | (CONFIRMED_REQUEST, 1) => cov_notification(r, pdu),
        (UNCONFIRMED_REQUEST, 4) | (CONFIRMED_REQUEST, 18) => private_transfer(r, pdu),
        (UNCONFIRMED_REQUEST, 6 | 9) => time_sync(r, pdu),
        (UNCONFIRMED_REQUEST, 7) => who_has(r, pdu),
        (UNCONFIRMED_REQUEST, 8) => who_is(r, pdu),
        (CONFIRMED_REQUEST, 5) => subscribe_cov(r, pdu),
        (CONFIRMED_REQUEST, 6) => atomic_read_file(r, pdu),
        (CONFIRMED_REQUEST, 7) => atomic_write_file(r, pdu),
        (CONFIRMED_REQUEST, 12) => read_property(r, pdu),
        (CONFIRMED_REQUEST, 14) => read_property_multiple(r, pdu),
        (CONFIRMED_REQUEST, 15) => write_property(r, pdu),
        (CONFIRMED_REQUEST, 16) => write_property_multiple(r, pdu),
        (CONFIRMED_REQUEST, 17) => device_communication_control(r, pdu),
        (CONFIRMED_REQUEST, 20) => reinitialize_device(r, pdu),
        (COMPLEX_ACK, 6) => atomic_read_file_ack(r, pdu),
        (COMPLEX_ACK, 7) => atomic_write_file_ack(r, pdu),
        (COMPLEX_ACK, 12) => read_property_ack(r, pdu, out),
        (COMPLEX_ACK, 14) => read_property_multiple_ack(r, pdu, out),
        (ERROR, _) => error(r, pdu),
        _ => Ok(()),
    }
}

fn ctx_uint(r: &mut Reader<'_>, n: u8) -> Res<u64> {
    r.ctx(n)?.unsigned().ok_or(BAD)
}

fn opt_ctx_uint(r: &mut Reader<'_>, n: u8) -> Res<Option<u64>> {
    match r.opt_ctx(n)? {
        Some(t) => t.unsigned().ok_or(BAD).map(Some),
        None => Ok(None),
    }
}

fn ctx_obj(r: &mut Reader<'_>, n: u8) -> Res<ObjectId> {
    r.ctx(n)?.object_id().ok_or(BAD)
}

fn app_obj(r: &mut Reader<'_>) -> Res<ObjectId> {
    r.app(12)?
        .data()
        .and_then(super::tags::object_id)
        .ok_or(BAD)
}

fn app_uint(r: &mut Reader<'_>, n: u8) -> Res<u64> {
    r.app(n)?.unsigned().ok_or(BAD)
}

fn app_signed(r: &mut Reader<'_>) -> Res<i64> {
    r.app(3)?.data().and_then(be_signed).ok_or(BAD)
}

fn to_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn to_u8(v: u64) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

/// A property identifier and its optional array index, from context tags `p` and `p + 1`.
fn prop_ref(r: &mut Reader<'_>, p: u8) -> Res<(u32, Option<u32>)> {
    let prop = to_u32(ctx_uint(r, p)?);
    let idx = opt_ctx_uint(r, p + 1)?.map(to_u32);
    Ok((prop, idx))
}

fn is_closing(r: &Reader<'_>, n: u8) -> Res<bool> {
    Ok(r.peek()?.ok_or(TagError::Truncated)?.is_close(n))
}

fn set_prop(pdu: &mut Fields<'_>, prop: u32, idx: Option<u32>) {
    pdu.property_id = Some(prop);
    pdu.array_index = idx;
}

fn set_value<'a>(pdu: &mut Fields<'a>, value: Option<Value<'a>>, count: u32) {
    pdu.value = value;
    pdu.value_count = (count > 1).then_some(count);
}

/// Who-Is (16.10.1): optional device instance range.
fn who_is(r: &mut Reader<'_>, pdu: &mut Fields<'_>) -> Res<()> {
    pdu.low_limit = opt_ctx_uint(r, 0)?;
    pdu.high_limit = opt_ctx_uint(r, 1)?;
    if pdu.low_limit.is_some() != pdu.high_limit.is_some() {
        return Err(BAD);
    }
    Ok(())
}

/// I-Am (16.10.3): device id, max APDU, segmentation, vendor id.
fn i_am<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>, out: &mut Out<'a>) -> Res<()> {
    let dev = app_obj(r)?;
    pdu.device_instance = Some(dev.instance);
    pdu.set_object(dev);
    out.fact(
        FactKind::BacnetDeviceInstance,
        FactValue::Number(u64::from(dev.instance)),
    );
    pdu.max_apdu = Some(to_u32(app_uint(r, 2)?));
    pdu.segmentation_supported = Some(app_uint(r, 9)?);
    let vid = to_u32(app_uint(r, 2)?);
    pdu.vendor_id = Some(vid);
    out.fact(FactKind::BacnetVendorId, FactValue::Number(u64::from(vid)));
    pdu.vendor_name = vendor_name(vid);
    if let Some(name) = pdu.vendor_name {
        out.fact(FactKind::BacnetVendorRegistered, FactValue::Text(name));
    }
    Ok(())
}

/// Who-Has (16.9.1): optional range, then an object id or an object name.
fn who_has<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    who_is(r, pdu)?;
    if let Some(t) = r.opt_ctx(2)? {
        pdu.set_object(t.object_id().ok_or(BAD)?);
    } else {
        let t = r.ctx(3)?;
        pdu.object_name = Some(super::tags::char_string(t.data().ok_or(BAD)?).ok_or(BAD)?);
    }
    Ok(())
}

/// I-Have (16.9.3): device id, object id, object name.
fn i_have<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.source_device = Some(app_obj(r)?.instance);
    pdu.set_object(app_obj(r)?);
    pdu.object_name = Some(r.app(7)?.value()?);
    Ok(())
}

/// ReadProperty request (15.5.1.1).
fn read_property<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.set_object(ctx_obj(r, 0)?);
    let (p, i) = prop_ref(r, 1)?;
    set_prop(pdu, p, i);
    Ok(())
}

/// The identity fact a Device object's property gives, if any.
fn device_fact(prop: u32) -> Option<FactKind> {
    Some(match prop {
        77 => FactKind::BacnetObjectName,
        70 => FactKind::BacnetModelName,
        44 => FactKind::BacnetFirmwareRevision,
        12 => FactKind::BacnetApplicationSoftwareVersion,
        121 => FactKind::BacnetVendorName,
        _ => return None,
    })
}

fn maybe_fact<'a>(out: &mut Out<'a>, obj: ObjectId, prop: u32, value: Option<Value<'a>>) {
    if obj.object_type != DEVICE {
        return;
    }
    let Some(kind) = device_fact(prop) else {
        return;
    };
    match value {
        Some(Value::CharacterString(s)) => out.fact(kind, FactValue::Text(s)),
        Some(Value::CharacterBytes { data, .. }) => out.fact(kind, FactValue::Bytes(data.0)),
        _ => {}
    }
}

/// ReadProperty-ACK (15.5.1.3): object, property, index, value.
fn read_property_ack<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>, out: &mut Out<'a>) -> Res<()> {
    let obj = ctx_obj(r, 0)?;
    pdu.set_object(obj);
    let (p, i) = prop_ref(r, 1)?;
    set_prop(pdu, p, i);
    r.open(3)?;
    let (v, n) = r.enclosed(3)?;
    set_value(pdu, v, n);
    maybe_fact(out, obj, p, v);
    Ok(())
}

/// WriteProperty (15.9.1.1): object, property, index, value, priority.
fn write_property<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.set_object(ctx_obj(r, 0)?);
    let (p, i) = prop_ref(r, 1)?;
    set_prop(pdu, p, i);
    r.open(3)?;
    let (v, n) = r.enclosed(3)?;
    set_value(pdu, v, n);
    pdu.write_priority = opt_ctx_uint(r, 4)?.map(to_u8);
    Ok(())
}

/// ReadPropertyMultiple request (15.7.1.1): a list of (object, list of property references).
fn read_property_multiple<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    let (mut objects, mut props) = (0u32, 0u32);
    while !r.is_empty() {
        let obj = ctx_obj(r, 0)?;
        if objects == 0 {
            pdu.set_object(obj);
        }
        objects = objects.saturating_add(1);
        r.open(1)?;
        while !is_closing(r, 1)? {
            let (p, i) = prop_ref(r, 0)?;
            if props == 0 {
                set_prop(pdu, p, i);
            }
            props = props.saturating_add(1);
        }
        r.close(1)?;
    }
    pdu.object_count = Some(objects);
    pdu.property_count = Some(props);
    Ok(())
}

/// ReadPropertyMultiple-ACK (15.7.1.3): per object, per property a value or an error.
fn read_property_multiple_ack<'a>(
    r: &mut Reader<'a>,
    pdu: &mut Fields<'a>,
    out: &mut Out<'a>,
) -> Res<()> {
    let (mut objects, mut props) = (0u32, 0u32);
    while !r.is_empty() {
        let obj = ctx_obj(r, 0)?;
        if objects == 0 {
            pdu.set_object(obj);
        }
        objects = objects.saturating_add(1);
        r.open(1)?;
        while !is_closing(r, 1)? {
            let (p, i) = prop_ref(r, 2)?;
            let first = props == 0;
            props = props.saturating_add(1);
            if r.opt_open(4)? {
                let (v, n) = r.enclosed(4)?;
                if first {
                    set_prop(pdu, p, i);
                    set_value(pdu, v, n);
                }
                maybe_fact(out, obj, p, v);
            } else {
                r.open(5)?;
                let (class, code) = error_pair(r)?;
                if first {
                    set_prop(pdu, p, i);
                    pdu.error_class = class;
                    pdu.error_code = code;
                }
            }
        }
        r.close(1)?;
    }
    pdu.object_count = Some(objects);
    pdu.property_count = Some(props);
    Ok(())
}

/// WritePropertyMultiple (15.10.1.1): per object, a list of (property, index, value, priority).
fn write_property_multiple<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    let (mut objects, mut props) = (0u32, 0u32);
    while !r.is_empty() {
        let obj = ctx_obj(r, 0)?;
        if objects == 0 {
            pdu.set_object(obj);
        }
        objects = objects.saturating_add(1);
        r.open(1)?;
        while !is_closing(r, 1)? {
            let (p, i) = prop_ref(r, 0)?;
            r.open(2)?;
            let (v, n) = r.enclosed(2)?;
            let prio = opt_ctx_uint(r, 3)?.map(to_u8);
            if props == 0 {
                set_prop(pdu, p, i);
                set_value(pdu, v, n);
                pdu.write_priority = prio;
            }
            props = props.saturating_add(1);
        }
        r.close(1)?;
    }
    pdu.object_count = Some(objects);
    pdu.property_count = Some(props);
    Ok(())
}

/// SubscribeCOV (13.14.1): process id, object, issue-confirmed, lifetime.
fn subscribe_cov<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.process_id = Some(ctx_uint(r, 0)?);
    pdu.set_object(ctx_obj(r, 1)?);
    pdu.issue_confirmed = opt_ctx_uint(r, 2)?.map(|v| v != 0);
    pdu.lifetime = opt_ctx_uint(r, 3)?;
    pdu.cancel = Some(pdu.issue_confirmed.is_none() && pdu.lifetime.is_none());
    Ok(())
}

/// (Un)ConfirmedCOVNotification (13.6, 13.7): process id, initiating device, monitored
/// object, time remaining, list of values.
fn cov_notification<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.process_id = Some(ctx_uint(r, 0)?);
    pdu.source_device = Some(ctx_obj(r, 1)?.instance);
    pdu.set_object(ctx_obj(r, 2)?);
    pdu.lifetime = Some(ctx_uint(r, 3)?);
    r.open(4)?;
    let mut props = 0u32;
    while !is_closing(r, 4)? {
        let (p, i) = prop_ref(r, 0)?;
        r.open(2)?;
        let (v, n) = r.enclosed(2)?;
        let _priority = opt_ctx_uint(r, 3)?;
        if props == 0 {
            set_prop(pdu, p, i);
            set_value(pdu, v, n);
        }
        props = props.saturating_add(1);
    }
    r.close(4)?;
    pdu.property_count = Some(props);
    Ok(())
}

/// DeviceCommunicationControl (16.1.1): duration, enable/disable, password.
fn device_communication_control<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.duration = opt_ctx_uint(r, 0)?;
    pdu.enable_disable = Some(ctx_uint(r, 1)?);
    pdu.password_present = Some(r.opt_ctx(2)?.is_some());
    Ok(())
}

/// ReinitializeDevice (16.4.1): state, password.
fn reinitialize_device<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.reinitialized_state = Some(ctx_uint(r, 0)?);
    pdu.password_present = Some(r.opt_ctx(1)?.is_some());
    Ok(())
}

/// (Un)ConfirmedPrivateTransfer (16.2, 16.3): vendor id, service number.
fn private_transfer<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    let vid = to_u32(ctx_uint(r, 0)?);
    pdu.vendor_id = Some(vid);
    pdu.vendor_name = vendor_name(vid);
    Ok(())
}

/// TimeSynchronization / UTCTimeSynchronization (16.7, 16.8): date, time.
fn time_sync<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.value = Some(r.app(10)?.value()?);
    pdu.time = Some(r.app(11)?.value()?);
    Ok(())
}

/// Octet strings up to closing tag `n`; returns their total length.
fn octet_strings(r: &mut Reader<'_>, n: u8) -> Res<u32> {
    let mut total = 0u32;
    while !is_closing(r, n)? {
        let d = r.app(6)?.data().ok_or(BAD)?;
        total = total.saturating_add(u32::try_from(d.len()).unwrap_or(u32::MAX));
    }
    r.close(n).map(|()| total)
}

/// AtomicReadFile request (14.1.1): file, stream (start, octet count) or record access (start
/// record, record count).
fn atomic_read_file<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.set_object(app_obj(r)?);
    let access = if r.opt_open(0)? {
        0
    } else {
        r.open(1).map(|()| 1)?
    };
    pdu.file_access = Some(access);
    pdu.file_start = Some(app_signed(r)?);
    pdu.file_count = Some(app_uint(r, 2)?);
    r.close(access)
}

/// AtomicReadFile-ACK (14.1.3): end-of-file, then the data.
fn atomic_read_file_ack<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.end_of_file = Some(r.app(1)?.lvt != 0);
    file_data(r, pdu)
}

/// AtomicWriteFile request (14.2.1): file, then stream data or records.
fn atomic_write_file<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    pdu.set_object(app_obj(r)?);
    file_data(r, pdu)
}

/// The file data both AtomicReadFile-ACK and AtomicWriteFile carry: stream access (context 0:
/// start position, one octet string) or record access (context 1: start record, record
/// count, octet strings).
fn file_data<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    if r.opt_open(0)? {
        pdu.file_access = Some(0);
        pdu.file_start = Some(app_signed(r)?);
        let d = r.app(6)?.data().ok_or(BAD)?;
        pdu.file_data_length = Some(u32::try_from(d.len()).unwrap_or(u32::MAX));
        r.close(0)
    } else {
        r.open(1)?;
        pdu.file_access = Some(1);
        pdu.file_start = Some(app_signed(r)?);
        pdu.file_count = Some(app_uint(r, 2)?);
        pdu.file_data_length = Some(octet_strings(r, 1)?);
        Ok(())
    }
}

/// AtomicWriteFile-ACK (14.2.3): where the data went.
fn atomic_write_file_ack<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    let t = r.tag()?;
    if !(t.is_ctx(0) || t.is_ctx(1)) {
        return Err(BAD);
    }
    pdu.file_access = Some(t.number);
    pdu.file_start = Some(t.data().and_then(be_signed).ok_or(BAD)?);
    Ok(())
}

/// The first two enumerated application values from here to the end or to the closing of
/// the enclosing tag: an error's class and code.
fn error_pair(r: &mut Reader<'_>) -> Res<(Option<u64>, Option<u64>)> {
    let base = r.depth();
    let mut class = None;
    let mut code = None;
    while let Some(t) = r.next_tag()? {
        if t.kind == Kind::Closing && r.depth() < base {
            break;
        }
        if t.is_app(9) && code.is_none() {
            let v = t.unsigned().ok_or(BAD)?;
            if class.is_none() {
                class = Some(v);
            } else {
                code = Some(v);
            }
        }
    }
    Ok((class, code))
}

/// Error PDU (clause 18 / 21): error class and code, possibly inside a constructed error.
fn error<'a>(r: &mut Reader<'a>, pdu: &mut Fields<'a>) -> Res<()> {
    let (class, code) = error_pair(r)?;
    pdu.error_class = class;
    pdu.error_code = code;
    if code.is_none() {
        return Err(BAD);
    }
    Ok(())
}
