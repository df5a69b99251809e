//! Modbus/TCP: MBAP header + PDU.

/// MBAP header (transaction id, protocol 0, length = unit id + PDU) followed by the PDU.
pub fn adu(trans_id: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(7 + pdu.len());
    v.extend_from_slice(&trans_id.to_be_bytes());
    v.extend_from_slice(&0u16.to_be_bytes());
    v.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

/// FC 3 request.
pub fn read_holding_registers_req(trans_id: u16, unit: u8, addr: u16, qty: u16) -> Vec<u8> {
    let mut p = vec![0x03];
    p.extend_from_slice(&addr.to_be_bytes());
    p.extend_from_slice(&qty.to_be_bytes());
    adu(trans_id, unit, &p)
}

/// FC 3 response carrying `values`.
pub fn read_holding_registers_resp(trans_id: u16, unit: u8, values: &[u16]) -> Vec<u8> {
    let mut p = Vec::with_capacity(2 + values.len() * 2);
    p.push(0x03);
    p.push((values.len() * 2) as u8);
    for v in values {
        p.extend_from_slice(&v.to_be_bytes());
    }
    adu(trans_id, unit, &p)
}

/// FC 4 request (input registers).
pub fn read_input_registers_req(trans_id: u16, unit: u8, addr: u16, qty: u16) -> Vec<u8> {
    let mut p = vec![0x04];
    p.extend_from_slice(&addr.to_be_bytes());
    p.extend_from_slice(&qty.to_be_bytes());
    adu(trans_id, unit, &p)
}

/// FC 6 request; the normal response is identical (use it for both directions).
pub fn write_single_register(trans_id: u16, unit: u8, addr: u16, value: u16) -> Vec<u8> {
    let mut p = vec![0x06];
    p.extend_from_slice(&addr.to_be_bytes());
    p.extend_from_slice(&value.to_be_bytes());
    adu(trans_id, unit, &p)
}

/// FC 16 request: write multiple registers.
pub fn write_multiple_registers_req(trans_id: u16, unit: u8, addr: u16, values: &[u16]) -> Vec<u8> {
    let mut p = vec![0x10];
    p.extend_from_slice(&addr.to_be_bytes());
    p.extend_from_slice(&(values.len() as u16).to_be_bytes());
    p.push((values.len() * 2) as u8);
    for v in values {
        p.extend_from_slice(&v.to_be_bytes());
    }
    adu(trans_id, unit, &p)
}

/// FC 43 / MEI 14 Read Device Identification request (`read_code` 1 = basic, 2 = regular...).
pub fn read_device_id_req(trans_id: u16, unit: u8, read_code: u8, object_id: u8) -> Vec<u8> {
    adu(trans_id, unit, &[0x2b, 0x0e, read_code, object_id])
}

/// FC 43 / MEI 14 response with the given objects (0 = VendorName, 1 = ProductCode,
/// 2 = MajorMinorRevision...).
pub fn read_device_id_resp(
    trans_id: u16,
    unit: u8,
    read_code: u8,
    objects: &[(u8, &str)],
) -> Vec<u8> {
    let mut p = vec![
        0x2b, 0x0e, read_code, 0x01, /* conformity: basic stream */
        0x00, 0x00,
    ];
    p.push(objects.len() as u8);
    for (id, val) in objects {
        p.push(*id);
        p.push(val.len() as u8);
        p.extend_from_slice(val.as_bytes());
    }
    adu(trans_id, unit, &p)
}

/// Exception response: function code with the high bit set, then the exception code
/// (1 illegal function, 2 illegal data address, 3 illegal data value, ...).
pub fn exception(trans_id: u16, unit: u8, function: u8, code: u8) -> Vec<u8> {
    adu(trans_id, unit, &[function | 0x80, code])
}
