//! The server's BuildInfo (OPC 10000-5 §12.4, OPC 10000-3 §8.35), as identity facts, when a
//! client reads it with the Read service.
//!
//! A ReadResponse's Results match the request's NodesToRead by position, so the positions of
//! the interesting nodes are remembered per pending request id: at most [`MAX_PENDING`] reads
//! per connection (the oldest is forgotten when a new one does not fit) and [`MAX_WATCHED`]
//! positions per read (later interesting positions are ignored), in a fixed table: no heap.
//! The nodes (namespace 0, attribute Value, no index range), from the standard nodeset:
//!
//! * 2256 `Server_ServerStatus`: an ExtensionObject `ServerStatusDataType` (binary encoding
//!   864) whose fourth field is the BuildInfo;
//! * 2260 `Server_ServerStatus_BuildInfo`: an ExtensionObject `BuildInfo` (encoding 340);
//! * its children 2261 ProductName, 2262 ProductUri, 2263 ManufacturerName, 2264
//!   SoftwareVersion, 2265 BuildNumber (Strings).
//!
//! Nodes named another way (TranslateBrowsePathsToNodeIds, Browse, other namespaces) are not
//! followed. Values with a Bad or Uncertain status, null and empty strings give no fact. A
//! response answers a read only when it travels the other way.

use super::encoding::{NodeId, Reader, Value, R};
use super::services::fact;
use crate::{Direction, FactKind, Side, Sink};

/// Most Read requests awaiting their response, per connection.
pub const MAX_PENDING: usize = 16;
/// Most interesting positions remembered per Read request.
pub const MAX_WATCHED: usize = 8;

/// AttributeId Value (OPC 10000-6 §5.2.2, Attributes.csv).
const ATTRIBUTE_VALUE: u32 = 13;
const SERVER_STATUS: u32 = 2256;
const BUILD_INFO: u32 = 2260;
const PRODUCT_NAME: u32 = 2261;
const PRODUCT_URI: u32 = 2262;
const MANUFACTURER_NAME: u32 = 2263;
const SOFTWARE_VERSION: u32 = 2264;
const BUILD_NUMBER: u32 = 2265;
/// `ServerStatusDataType_Encoding_DefaultBinary`, `BuildInfo_Encoding_DefaultBinary`.
const SERVER_STATUS_BINARY: u32 = 864;
const BUILD_INFO_BINARY: u32 = 340;

/// What the value at one position of a read is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    ServerStatus,
    BuildInfo,
    /// One BuildInfo field, as its own variable.
    Field(FactKind),
}

/// The source a node read (node, attribute) is, when it is one.
fn source_of(node: &NodeId<'_>, attribute: u32) -> Option<Source> {
    if node.ns != 0 || attribute != ATTRIBUTE_VALUE {
        return None;
    }
    Some(match node.numeric()? {
        SERVER_STATUS => Source::ServerStatus,
        BUILD_INFO => Source::BuildInfo,
        PRODUCT_NAME => Source::Field(FactKind::OpcuaProductName),
        PRODUCT_URI => Source::Field(FactKind::OpcuaBuildProductUri),
        MANUFACTURER_NAME => Source::Field(FactKind::OpcuaManufacturerName),
        SOFTWARE_VERSION => Source::Field(FactKind::OpcuaSoftwareVersion),
        BUILD_NUMBER => Source::Field(FactKind::OpcuaBuildNumber),
        _ => return None,
    })
}

#[derive(Clone, Copy, Debug)]
struct Watch {
    /// Position in NodesToRead (and in Results).
    index: u32,
    source: Source,
}

const NO_WATCH: Watch = Watch {
    index: 0,
    source: Source::BuildInfo,
};

/// One Read request awaiting its response.
#[derive(Clone, Copy, Debug)]
struct Pending {
    request_id: u32,
    /// The way the request travelled.
    dir: Direction,
    /// When it was stored (for forgetting the oldest).
    stamp: u64,
    len: usize,
    watch: [Watch; MAX_WATCHED],
}

impl Pending {
    fn watches(&self) -> &[Watch] {
        self.watch.get(..self.len).unwrap_or_default()
    }
}

/// The pending Read requests of one connection that read BuildInfo nodes.
#[derive(Debug, Default)]
pub struct PendingReads {
    slots: [Option<Pending>; MAX_PENDING],
    clock: u64,
}

impl PendingReads {
    /// Number of reads awaiting a response.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    fn insert(&mut self, mut p: Pending) {
        self.clock = self.clock.wrapping_add(1);
        p.stamp = self.clock;
        // A free slot, else the oldest read's (its answer was lost, or is very late).
        let i = self.slots.iter().position(Option::is_none).or_else(|| {
            self.slots
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.map_or(0, |s| s.stamp))
                .map(|(i, _)| i)
        });
        if let Some(slot) = i.and_then(|i| self.slots.get_mut(i)) {
            *slot = Some(p);
        }
    }

    /// Forget and return the read with this request id (sent in direction `dir`, if given).
    fn take(&mut self, request_id: u32, dir: Option<Direction>) -> Option<Pending> {
        self.slots
            .iter_mut()
            .find(|s| {
                s.is_some_and(|s| s.request_id == request_id && dir.is_none_or(|d| d == s.dir))
            })
            .and_then(Option::take)
    }
}

/// The session state a service body needs: the connection's pending reads, and the request id
/// (from the sequence header) and direction of the message being decoded.
pub struct Reads<'r> {
    pub table: &'r mut PendingReads,
    pub request_id: u32,
    pub dir: Direction,
}

/// A ReadRequest's NodesToRead after their first NodeId and AttributeId (already read by the
/// caller, at position 0 of `count`): remember where BuildInfo nodes are. Best effort: a
/// malformed rest of the array ends the scan, keeping what was found before it.
pub fn read_request(
    r: &mut Reader<'_>,
    count: u32,
    first: (NodeId<'_>, u32),
    reads: &mut Reads<'_>,
) {
    let mut p = Pending {
        request_id: reads.request_id,
        dir: reads.dir,
        stamp: 0,
        len: 0,
        watch: [NO_WATCH; MAX_WATCHED],
    };
    let _ = scan_nodes(r, count, first, &mut p);
    // A request id reused before its answer: the old read is over.
    reads.table.take(reads.request_id, None);
    if p.len > 0 {
        reads.table.insert(p);
    }
}

fn scan_nodes(r: &mut Reader<'_>, count: u32, first: (NodeId<'_>, u32), p: &mut Pending) -> R<()> {
    let (mut node, mut attribute) = first;
    for index in 0..count {
        if index > 0 {
            node = r.node_id()?;
            attribute = r.u32()?;
        }
        let range = r.bytes()?; // index range
        r.u16()?; // data encoding: namespace index
        r.bytes()?; // and name
        let Some(source) = source_of(&node, attribute).filter(|_| range.is_none()) else {
            continue;
        };
        let Some(w) = p.watch.get_mut(p.len) else {
            break; // MAX_WATCHED positions: the rest are ignored
        };
        *w = Watch { index, source };
        p.len += 1;
    }
    Ok(())
}

/// Any response: the read with this request id sent the other way, if one is pending, is
/// answered (a ServiceFault or a malformed response ends it too).
pub fn answered(reads: &mut Reads<'_>) -> Option<PendingAnswer> {
    let request_dir = match reads.dir {
        Direction::ToServer => Direction::ToClient,
        Direction::ToClient => Direction::ToServer,
    };
    reads
        .table
        .take(reads.request_id, Some(request_dir))
        .map(PendingAnswer)
}

/// A read whose response is being decoded.
#[derive(Debug)]
pub struct PendingAnswer(Pending);

/// A ReadResponse's Results, after their count: facts from the remembered positions. Stops at
/// the last one, or at the first DataValue that does not decode.
pub fn read_response(r: &mut Reader<'_>, count: u32, read: &PendingAnswer, sink: &mut dyn Sink) {
    let watches = read.0.watches();
    let Some(last) = watches.iter().map(|w| w.index).max() else {
        return;
    };
    for index in 0..count.min(last.saturating_add(1)) {
        let Ok(dv) = r.data_value() else {
            return;
        };
        // Good only: Uncertain and Bad values are not the server's word.
        if dv.status.is_some_and(|s| s & 0xC000_0000 != 0) {
            continue;
        }
        for w in watches.iter().filter(|w| w.index == index) {
            value_facts(w.source, dv.value, sink);
        }
    }
}

fn value_facts(source: Source, value: Value<'_>, sink: &mut dyn Sink) {
    match (source, value) {
        (Source::Field(kind), Value::String(s) | Value::LocalizedText(s)) => {
            fact(sink, kind, Side::Server, s);
        }
        (Source::ServerStatus, Value::ExtensionObject(ty, Some(body)))
            if is_ns0(&ty, SERVER_STATUS_BINARY) =>
        {
            if let Ok(b) = server_status(&mut Reader::new(body)) {
                b.facts(sink);
            }
        }
        (Source::BuildInfo, Value::ExtensionObject(ty, Some(body)))
            if is_ns0(&ty, BUILD_INFO_BINARY) =>
        {
            if let Ok(b) = build_info(&mut Reader::new(body)) {
                b.facts(sink);
            }
        }
        _ => {}
    }
}

fn is_ns0(id: &NodeId<'_>, numeric: u32) -> bool {
    id.ns == 0 && id.numeric() == Some(numeric)
}

/// The string fields of a BuildInfo (`None`: null).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildInfo<'a> {
    pub product_uri: Option<&'a [u8]>,
    pub manufacturer_name: Option<&'a [u8]>,
    pub product_name: Option<&'a [u8]>,
    pub software_version: Option<&'a [u8]>,
    pub build_number: Option<&'a [u8]>,
}

impl BuildInfo<'_> {
    fn facts(&self, sink: &mut dyn Sink) {
        let server = Side::Server;
        fact(
            sink,
            FactKind::OpcuaBuildProductUri,
            server,
            self.product_uri,
        );
        fact(
            sink,
            FactKind::OpcuaManufacturerName,
            server,
            self.manufacturer_name,
        );
        fact(sink, FactKind::OpcuaProductName, server, self.product_name);
        fact(
            sink,
            FactKind::OpcuaSoftwareVersion,
            server,
            self.software_version,
        );
        fact(sink, FactKind::OpcuaBuildNumber, server, self.build_number);
    }
}

/// BuildInfo (OPC 10000-5 §12.4): ProductUri, ManufacturerName, ProductName, SoftwareVersion,
/// BuildNumber (Strings), BuildDate (DateTime). All of it must decode.
pub fn build_info<'a>(r: &mut Reader<'a>) -> R<BuildInfo<'a>> {
    let b = BuildInfo {
        product_uri: r.bytes()?,
        manufacturer_name: r.bytes()?,
        product_name: r.bytes()?,
        software_version: r.bytes()?,
        build_number: r.bytes()?,
    };
    r.i64()?; // build date
    Ok(b)
}

/// ServerStatusDataType (OPC 10000-5 §12.10): StartTime, CurrentTime (DateTime), State
/// (ServerState, an Int32 enumeration), BuildInfo, SecondsTillShutdown (UInt32),
/// ShutdownReason (LocalizedText). All of it must decode; its BuildInfo is returned.
pub fn server_status<'a>(r: &mut Reader<'a>) -> R<BuildInfo<'a>> {
    r.i64()?; // start time
    r.i64()?; // current time
    r.i32()?; // state
    let b = build_info(r)?;
    r.u32()?; // seconds till shutdown
    r.localized_text()?; // shutdown reason
    Ok(b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::Collect;

    fn s(out: &mut Vec<u8>, v: Option<&str>) {
        match v {
            None => out.extend_from_slice(&(-1i32).to_le_bytes()),
            Some(v) => {
                out.extend_from_slice(&(v.len() as i32).to_le_bytes());
                out.extend_from_slice(v.as_bytes());
            }
        }
    }

    fn build_info_body(fields: [Option<&str>; 5]) -> Vec<u8> {
        let mut b = Vec::new();
        for f in fields {
            s(&mut b, f);
        }
        b.extend_from_slice(&0x01da_0000_0000_0000i64.to_le_bytes()); // build date
        b
    }

    fn server_status_body(fields: [Option<&str>; 5]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&1i64.to_le_bytes()); // start time
        b.extend_from_slice(&2i64.to_le_bytes()); // current time
        b.extend_from_slice(&0i32.to_le_bytes()); // Running
        b.extend(build_info_body(fields));
        b.extend_from_slice(&0u32.to_le_bytes()); // seconds till shutdown
        b.push(0); // shutdown reason: empty LocalizedText
        b
    }

    /// A DataValue (value, status Good, both timestamps, server picoseconds) holding an
    /// ExtensionObject of type `type_id` with `body`.
    fn extension_data_value(type_id: u16, body: &[u8]) -> Vec<u8> {
        let mut d = vec![0x2f, 0x16, 0x01, 0x00];
        d.extend_from_slice(&type_id.to_le_bytes());
        d.push(0x01);
        d.extend_from_slice(&(body.len() as i32).to_le_bytes());
        d.extend_from_slice(body);
        d.extend_from_slice(&0u32.to_le_bytes()); // status
        d.extend_from_slice(&3i64.to_le_bytes()); // source timestamp
        d.extend_from_slice(&4i64.to_le_bytes()); // server timestamp
        d.extend_from_slice(&7u16.to_le_bytes()); // server picoseconds
        d
    }

    fn string_data_value(v: Option<&str>) -> Vec<u8> {
        let mut d = vec![0x01, 0x0c];
        s(&mut d, v);
        d
    }

    const FIELDS: [Option<&str>; 5] = [
        Some("urn:vendor:product"),
        Some("Vendor Inc"),
        Some("Product X"),
        Some("1.2.3"),
        Some("456"),
    ];

    fn want(fields: [Option<&str>; 5]) -> Vec<(FactKind, Side, String)> {
        let kinds = [
            FactKind::OpcuaBuildProductUri,
            FactKind::OpcuaManufacturerName,
            FactKind::OpcuaProductName,
            FactKind::OpcuaSoftwareVersion,
            FactKind::OpcuaBuildNumber,
        ];
        kinds
            .iter()
            .zip(fields)
            .filter_map(|(&k, f)| {
                f.filter(|f| !f.is_empty())
                    .map(|f| (k, Side::Server, f.to_string()))
            })
            .collect()
    }

    fn pending(watch: &[(u32, Source)]) -> PendingAnswer {
        let mut p = Pending {
            request_id: 1,
            dir: Direction::ToServer,
            stamp: 0,
            len: watch.len(),
            watch: [NO_WATCH; MAX_WATCHED],
        };
        for (w, &(index, source)) in p.watch.iter_mut().zip(watch) {
            *w = Watch { index, source };
        }
        PendingAnswer(p)
    }

    fn facts_of(results: &[Vec<u8>], read: &PendingAnswer) -> Vec<(FactKind, Side, String)> {
        let body: Vec<u8> = results.concat();
        let mut c = Collect::default();
        read_response(&mut Reader::new(&body), results.len() as u32, read, &mut c);
        c.facts
    }

    #[test]
    fn server_status_and_build_info_bodies() {
        let read = pending(&[(0, Source::ServerStatus), (2, Source::BuildInfo)]);
        let results = [
            extension_data_value(864, &server_status_body(FIELDS)),
            string_data_value(Some("not watched")),
            extension_data_value(340, &build_info_body(FIELDS)),
        ];
        let mut all = want(FIELDS);
        all.extend(want(FIELDS));
        assert_eq!(facts_of(&results, &read), all);
    }

    #[test]
    fn children_by_position_null_and_empty_strings_absent() {
        let read = pending(&[
            (1, Source::Field(FactKind::OpcuaProductName)),
            (2, Source::Field(FactKind::OpcuaManufacturerName)),
            (3, Source::Field(FactKind::OpcuaSoftwareVersion)),
            (4, Source::Field(FactKind::OpcuaBuildNumber)),
        ]);
        // Position 0: an Int32 array with dimensions, skipped.
        let mut arr = vec![0xc6];
        arr.extend_from_slice(&2i32.to_le_bytes());
        arr.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
        arr.extend_from_slice(&1i32.to_le_bytes());
        arr.extend_from_slice(&2i32.to_le_bytes());
        let mut dv0 = vec![0x01];
        dv0.extend(arr);
        // Position 2 is a LocalizedText with a locale.
        let mut lt = vec![0x01, 0x15, 0x03];
        s(&mut lt, Some("en"));
        s(&mut lt, Some("Maker"));
        let results = [
            dv0,
            string_data_value(Some("Name")),
            lt,
            string_data_value(None),
            string_data_value(Some("")),
        ];
        assert_eq!(
            facts_of(&results, &read),
            vec![
                (FactKind::OpcuaProductName, Side::Server, "Name".to_string()),
                (
                    FactKind::OpcuaManufacturerName,
                    Side::Server,
                    "Maker".to_string()
                ),
            ]
        );
        // Null fields of a BuildInfo are absent too.
        let fields = [None, Some("V"), None, Some(""), Some("7")];
        let read = pending(&[(0, Source::BuildInfo)]);
        let results = [extension_data_value(340, &build_info_body(fields))];
        assert_eq!(facts_of(&results, &read), want(fields));
    }

    #[test]
    fn wrong_type_status_or_encoding_gives_no_fact() {
        let read = pending(&[(0, Source::ServerStatus)]);
        // A BuildInfo where a ServerStatus is expected, and the other way round.
        assert!(facts_of(
            &[extension_data_value(340, &build_info_body(FIELDS))],
            &read
        )
        .is_empty());
        let read_bi = pending(&[(0, Source::BuildInfo)]);
        assert!(facts_of(
            &[extension_data_value(864, &server_status_body(FIELDS))],
            &read_bi
        )
        .is_empty());
        // Bad and Uncertain statuses.
        for status in [0x8034_0000u32, 0x4000_0000] {
            let mut d = extension_data_value(864, &server_status_body(FIELDS));
            let at = d.len() - 4 - 8 - 8 - 2;
            d[at..at + 4].copy_from_slice(&status.to_le_bytes());
            assert!(facts_of(&[d], &read).is_empty(), "{status:#x}");
        }
        // An XML body (encoding 2).
        let mut d = extension_data_value(864, &server_status_body(FIELDS));
        d[6] = 0x02;
        assert!(facts_of(&[d], &read).is_empty());
        // A String where an ExtensionObject is expected; an ExtensionObject for a field.
        assert!(facts_of(&[string_data_value(Some("x"))], &read).is_empty());
        let read_f = pending(&[(0, Source::Field(FactKind::OpcuaProductName))]);
        assert!(facts_of(
            &[extension_data_value(340, &build_info_body(FIELDS))],
            &read_f
        )
        .is_empty());
    }

    #[test]
    fn truncated_bodies_and_results_give_no_fact_and_no_panic() {
        let read = pending(&[(0, Source::ServerStatus), (1, Source::BuildInfo)]);
        let status = server_status_body(FIELDS);
        let info = build_info_body(FIELDS);
        // The ExtensionObject bodies cut short (the length prefix says so: still consistent).
        for cut in 0..status.len() {
            assert!(facts_of(&[extension_data_value(864, &status[..cut])], &read).is_empty());
        }
        for cut in 0..info.len() {
            let read = pending(&[(0, Source::BuildInfo)]);
            assert!(facts_of(&[extension_data_value(340, &info[..cut])], &read).is_empty());
        }
        // The Results bytes cut anywhere: the first value's facts only once it is whole.
        let whole = [
            extension_data_value(864, &status),
            extension_data_value(340, &info),
        ]
        .concat();
        let first_len = extension_data_value(864, &status).len();
        for cut in 0..whole.len() {
            let mut c = Collect::default();
            read_response(&mut Reader::new(&whole[..cut]), 2, &read, &mut c);
            let n = if cut >= first_len { 5 } else { 0 };
            assert_eq!(c.facts.len(), n, "cut at {cut}");
        }
        // More results promised than present.
        let mut c = Collect::default();
        read_response(&mut Reader::new(&[]), u32::MAX, &read, &mut c);
        assert!(c.facts.is_empty());
    }

    #[test]
    fn hostile_variants_do_not_panic() {
        let read = pending(&[(0, Source::Field(FactKind::OpcuaProductName))]);
        let cases: Vec<Vec<u8>> = vec![
            // Variants nested in Variants (type 24) past the depth cap.
            [vec![0x01], vec![0x18; 64]].concat(),
            // DataValues in Variants in DataValues, deeply.
            [vec![0x01], [0x17u8, 0x01].repeat(40)].concat(),
            // Huge array counts, negative lengths, unknown types.
            vec![0x01, 0x86, 0xff, 0xff, 0xff, 0x7f],
            vec![0x01, 0x8c, 0x02, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff],
            vec![0x01, 0x0c, 0x00, 0x00, 0x00, 0x80],
            vec![0x01, 0x1f],
            vec![0x01, 0x80, 0x01, 0, 0, 0],
            vec![0x01, 0x46, 0, 0, 0, 0],
            vec![0x01, 0xc6, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f],
            vec![0x01, 0x16, 0x01, 0x00, 0x60, 0x03, 0x05],
            vec![0x3f],
        ];
        for case in cases {
            assert!(
                facts_of(std::slice::from_ref(&case), &read).is_empty(),
                "{case:02x?}"
            );
        }
        // Pseudo-random bytes after a mask: whatever they are, nothing panics.
        let mut x: u32 = 0x1234_5678;
        for len in 0..400usize {
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x.to_le_bytes()[0]
                })
                .collect();
            let read = pending(&[
                (0, Source::ServerStatus),
                (1, Source::BuildInfo),
                (2, Source::Field(FactKind::OpcuaBuildNumber)),
            ]);
            let mut c = Collect::default();
            read_response(&mut Reader::new(&buf), 3, &read, &mut c);
            let _ = server_status(&mut Reader::new(&buf));
            let _ = build_info(&mut Reader::new(&buf));
        }
    }

    /// A NodesToRead array of numeric ns=0 nodes (attribute, index range) after its first
    /// NodeId and AttributeId.
    fn nodes_rest(nodes: &[(u32, u32, Option<&str>)]) -> Vec<u8> {
        let mut b = Vec::new();
        for (i, &(id, attr, range)) in nodes.iter().enumerate() {
            if i > 0 {
                b.push(0x02);
                b.extend_from_slice(&0u16.to_le_bytes());
                b.extend_from_slice(&id.to_le_bytes());
                b.extend_from_slice(&attr.to_le_bytes());
            }
            s(&mut b, range);
            b.extend_from_slice(&0u16.to_le_bytes());
            s(&mut b, None);
        }
        b
    }

    fn request(table: &mut PendingReads, request_id: u32, nodes: &[(u32, u32, Option<&str>)]) {
        let rest = nodes_rest(nodes);
        let first = NodeId {
            ns: 0,
            id: crate::opcua::Identifier::Numeric(nodes[0].0),
        };
        read_request(
            &mut Reader::new(&rest),
            nodes.len() as u32,
            (first, nodes[0].1),
            &mut Reads {
                table,
                request_id,
                dir: Direction::ToServer,
            },
        );
    }

    /// The answer side: a response (to the client) with this request id.
    fn reads(table: &mut PendingReads, request_id: u32) -> Reads<'_> {
        Reads {
            table,
            request_id,
            dir: Direction::ToClient,
        }
    }

    #[test]
    fn responses_travel_the_other_way() {
        let mut t = PendingReads::default();
        request(&mut t, 5, &[(2260, 13, None)]);
        let same_way = Reads {
            table: &mut t,
            request_id: 5,
            dir: Direction::ToServer,
        };
        assert!(answered(&mut { same_way }).is_none());
        assert!(answered(&mut reads(&mut t, 6)).is_none());
        assert!(answered(&mut reads(&mut t, 5)).is_some());
        assert!(answered(&mut reads(&mut t, 5)).is_none());
    }

    #[test]
    fn requests_remember_positions_within_bounds() {
        let mut t = PendingReads::default();
        // Nothing interesting: nothing stored. Wrong attribute, an index range: not watched.
        request(
            &mut t,
            1,
            &[(2259, 13, None), (2261, 1, None), (2262, 13, Some("0:3"))],
        );
        assert_eq!(t.len(), 0);
        request(
            &mut t,
            2,
            &[(2259, 13, None), (2261, 13, None), (2256, 13, None)],
        );
        assert_eq!(t.len(), 1);
        let a = answered(&mut reads(&mut t, 2)).unwrap();
        assert_eq!(
            a.0.watches()
                .iter()
                .map(|w| (w.index, w.source))
                .collect::<Vec<_>>(),
            vec![
                (1, Source::Field(FactKind::OpcuaProductName)),
                (2, Source::ServerStatus)
            ]
        );
        assert_eq!(t.len(), 0);
        assert!(answered(&mut reads(&mut t, 2)).is_none());

        // Twenty interesting positions: the first MAX_WATCHED are kept.
        let many: Vec<_> = (0..20).map(|_| (2264, 13, None)).collect();
        request(&mut t, 3, &many);
        let a = answered(&mut reads(&mut t, 3)).unwrap();
        assert_eq!(a.0.watches().len(), MAX_WATCHED);
        assert_eq!(a.0.watches().last().unwrap().index, MAX_WATCHED as u32 - 1);

        // Requests never answered: at most MAX_PENDING, the oldest forgotten first.
        for id in 100..200 {
            request(&mut t, id, &[(2260, 13, None)]);
        }
        assert_eq!(t.len(), MAX_PENDING);
        assert!(answered(&mut reads(&mut t, 150)).is_none());
        assert!(answered(&mut reads(&mut t, 199)).is_some());
        assert!(answered(&mut reads(&mut t, 184)).is_some());
        assert_eq!(t.len(), MAX_PENDING - 2);

        // A truncated NodesToRead keeps what was found before the cut.
        let rest = nodes_rest(&[(2261, 13, None), (2265, 13, None), (2263, 13, None)]);
        let mut t = PendingReads::default();
        let first = NodeId {
            ns: 0,
            id: crate::opcua::Identifier::Numeric(2261),
        };
        for cut in 0..rest.len() {
            read_request(
                &mut Reader::new(&rest[..cut]),
                3,
                (first, 13),
                &mut Reads {
                    table: &mut t,
                    request_id: 9,
                    dir: Direction::ToServer,
                },
            );
            let a = answered(&mut reads(&mut t, 9));
            assert!(a.map_or(0, |a| a.0.watches().len()) <= 2, "cut at {cut}");
        }
    }
}
