//! Recorded spans as an OTLP/HTTP request body: an `ExportTraceServiceRequest` in
//! protobuf, written straight from [`Recorded`]: one-byte keys, and prost's varints past
//! one byte. A span's attributes are encoded as they are added ([`span_attribute`]), the
//! span as it closes, on its own thread, into that thread's buffer ([`Spans::push`]), and a
//! batch is those buffers framed ([`Encoder::encode`]), all kept from batch to batch.
//! Building opentelemetry-proto's messages instead costs a dozen allocations per span
//! (every id, key and name owned), freed on another thread. The tests decode the output
//! with those messages.

use std::time::{SystemTime, UNIX_EPOCH};

use prost::encoding::{WireType, encode_varint, encoded_len_varint};

use super::record::{Recorded, SpanEvent, Value};

/// Each field's key: its number, from opentelemetry-proto's `.proto` files, and its wire
/// type, in one byte ([`key`]).
mod field {
    use prost::encoding::WireType::{LengthDelimited as LEN, SixtyFourBit as I64, Varint};

    use super::key;

    pub const REQUEST_RESOURCE_SPANS: u8 = key(1, LEN);
    pub const RESOURCE_SPANS_RESOURCE: u8 = key(1, LEN);
    pub const RESOURCE_SPANS_SCOPE_SPANS: u8 = key(2, LEN);
    pub const RESOURCE_ATTRIBUTES: u8 = key(1, LEN);
    pub const SCOPE_SPANS_SCOPE: u8 = key(1, LEN);
    pub const SCOPE_SPANS_SPANS: u8 = key(2, LEN);
    pub const SCOPE_NAME: u8 = key(1, LEN);
    pub const SCOPE_VERSION: u8 = key(2, LEN);
    pub const SPAN_TRACE_ID: u8 = key(1, LEN);
    pub const SPAN_SPAN_ID: u8 = key(2, LEN);
    pub const SPAN_PARENT_SPAN_ID: u8 = key(4, LEN);
    pub const SPAN_NAME: u8 = key(5, LEN);
    pub const SPAN_KIND: u8 = key(6, Varint);
    pub const SPAN_START: u8 = key(7, I64);
    pub const SPAN_END: u8 = key(8, I64);
    pub const SPAN_ATTRIBUTES: u8 = key(9, LEN);
    pub const SPAN_EVENTS: u8 = key(11, LEN);
    pub const SPAN_LINKS: u8 = key(13, LEN);
    pub const SPAN_STATUS: u8 = key(15, LEN);
    pub const EVENT_TIME: u8 = key(1, I64);
    pub const EVENT_NAME: u8 = key(2, LEN);
    pub const EVENT_ATTRIBUTES: u8 = key(3, LEN);
    pub const LINK_TRACE_ID: u8 = key(1, LEN);
    pub const LINK_SPAN_ID: u8 = key(2, LEN);
    pub const STATUS_MESSAGE: u8 = key(2, LEN);
    pub const STATUS_CODE: u8 = key(3, Varint);
    pub const KEY_VALUE_KEY: u8 = key(1, LEN);
    pub const KEY_VALUE_VALUE: u8 = key(2, LEN);
    pub const ANY_STRING: u8 = key(1, LEN);
    pub const ANY_BOOL: u8 = key(2, Varint);
    pub const ANY_INT: u8 = key(3, Varint);
    pub const ANY_DOUBLE: u8 = key(4, I64);
}

/// A field's key, as protobuf encodes it: a varint of its number and wire type, one byte
/// for the numbers under 16 that every field here has (checked as the keys are compiled).
/// Written as one byte, not by prost's `encode_key`: a traced request writes a hundred.
const fn key(number: u32, wire: WireType) -> u8 {
    assert!(number > 0 && number < 16, "a one-byte key");
    ((number << 3) | wire as u32) as u8
}

/// `STATUS_CODE_ERROR`.
const STATUS_ERROR: u64 = 2;

/// Encoded spans, each framed as one of `ScopeSpans.spans`, ready to be sent.
#[derive(Debug, Default)]
pub(crate) struct Spans {
    pub bytes: Vec<u8>,
    pub count: usize,
}

impl Spans {
    /// Appends `span`, encoded: its length first (computed, so that nothing is written
    /// twice or moved), then its fields.
    pub(crate) fn push(&mut self, span: &Recorded) {
        let len = span_len(span);
        header(field::SCOPE_SPANS_SPANS, len, &mut self.bytes);
        let start = self.bytes.len();
        encode_span(span, &mut self.bytes);
        debug_assert_eq!(
            self.bytes.len() - start,
            len,
            "span_len and encode_span disagree"
        );
        self.count += 1;
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.count = 0;
    }
}

/// Frames batches for one service, reusing its buffer.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    /// The `Resource` and the `InstrumentationScope`, the same for every batch.
    resource: Vec<u8>,
    scope: Vec<u8>,
    body: Vec<u8>,
}

impl Encoder {
    pub(crate) fn new(service: &str) -> Self {
        let mut encoder = Self::default();
        key_value(
            field::RESOURCE_ATTRIBUTES,
            "service.name",
            &Value::Str(service),
            &mut encoder.resource,
        );
        string(
            field::SCOPE_NAME,
            env!("CARGO_PKG_NAME"),
            &mut encoder.scope,
        );
        string(
            field::SCOPE_VERSION,
            env!("CARGO_PKG_VERSION"),
            &mut encoder.scope,
        );
        encoder
    }

    /// The body that exports `batch`: the messages around its spans sized first, so that
    /// the spans are copied once.
    pub(crate) fn encode(&mut self, batch: &[Spans]) -> &[u8] {
        let spans: usize = batch.iter().map(|spans| spans.bytes.len()).sum();
        let scope_spans = framed_len(self.scope.len()) + spans;
        let resource_spans = framed_len(self.resource.len()) + framed_len(scope_spans);
        let body = &mut self.body;
        body.clear();
        header(field::REQUEST_RESOURCE_SPANS, resource_spans, body);
        message(field::RESOURCE_SPANS_RESOURCE, &self.resource, body);
        header(field::RESOURCE_SPANS_SCOPE_SPANS, scope_spans, body);
        message(field::SCOPE_SPANS_SCOPE, &self.scope, body);
        for spans in batch {
            body.extend_from_slice(&spans.bytes);
        }
        body
    }
}

/// How long `span` is encoded by [`encode_span`], field by field in the same order.
fn span_len(span: &Recorded) -> usize {
    let mut len = framed_len(16) + framed_len(8);
    if span.parent.is_some() {
        len += framed_len(8);
    }
    len += framed_len(span.name.len())
        + KEY_LEN
        + encoded_len_varint(span.kind as u64)
        + 2 * FIXED64_LEN
        + span.attributes.len();
    for event in &span.events {
        len += framed_len(event_len(event));
    }
    len += span.links.len() * framed_len(link_len());
    if let Some(error) = &span.error {
        len += framed_len(status_len(error));
    }
    len
}

fn event_len(event: &SpanEvent) -> usize {
    FIXED64_LEN + framed_len(event.name.len()) + event.attributes.len()
}

/// A link: its trace id and span id.
fn link_len() -> usize {
    framed_len(16) + framed_len(8)
}

fn status_len(error: &str) -> usize {
    framed_len(error.len()) + KEY_LEN + encoded_len_varint(STATUS_ERROR)
}

/// A `Span`'s fields into `out`, nested messages framed with their computed lengths.
fn encode_span(span: &Recorded, out: &mut Vec<u8>) {
    bytes(field::SPAN_TRACE_ID, &span.trace_id.to_bytes(), out);
    bytes(field::SPAN_SPAN_ID, &span.span_id.to_bytes(), out);
    if let Some(parent) = span.parent {
        bytes(field::SPAN_PARENT_SPAN_ID, &parent.to_bytes(), out);
    }
    string(field::SPAN_NAME, &span.name, out);
    varint(field::SPAN_KIND, span.kind as u64, out);
    fixed64(field::SPAN_START, unix_nanos(span.start), out);
    fixed64(field::SPAN_END, unix_nanos(span.end), out);
    out.extend_from_slice(&span.attributes);
    for event in &span.events {
        header(field::SPAN_EVENTS, event_len(event), out);
        fixed64(field::EVENT_TIME, unix_nanos(event.time), out);
        string(field::EVENT_NAME, &event.name, out);
        out.extend_from_slice(&event.attributes);
    }
    for (trace_id, span_id) in &span.links {
        header(field::SPAN_LINKS, link_len(), out);
        bytes(field::LINK_TRACE_ID, &trace_id.to_bytes(), out);
        bytes(field::LINK_SPAN_ID, &span_id.to_bytes(), out);
    }
    if let Some(error) = &span.error {
        header(field::SPAN_STATUS, status_len(error), out);
        string(field::STATUS_MESSAGE, error, out);
        varint(field::STATUS_CODE, STATUS_ERROR, out);
    }
}

/// An attribute of a span, as one of `Span.attributes`.
pub(crate) fn span_attribute(key: &str, value: &Value<'_>, out: &mut Vec<u8>) {
    key_value(field::SPAN_ATTRIBUTES, key, value, out);
}

/// An attribute of an event, as one of `Span.Event.attributes`.
pub(crate) fn event_attribute(key: &str, value: &Value<'_>, out: &mut Vec<u8>) {
    key_value(field::EVENT_ATTRIBUTES, key, value, out);
}

/// A `KeyValue`, as one of the attributes field `list`, whose `AnyValue` is small enough
/// to size without writing it first.
fn key_value(list: u8, key: &str, value: &Value<'_>, out: &mut Vec<u8>) {
    let any_len = match value {
        Value::Str(s) => framed_len(s.len()),
        Value::Int(i) => KEY_LEN + encoded_len_varint(*i as u64),
        Value::Float(_) => FIXED64_LEN,
        Value::Bool(_) => KEY_LEN + 1,
    };
    let len = framed_len(key.len()) + framed_len(any_len);
    // Grown once, not by each of the writes below.
    out.reserve(framed_len(len));
    header(list, len, out);
    string(field::KEY_VALUE_KEY, key, out);
    header(field::KEY_VALUE_VALUE, any_len, out);
    match value {
        Value::Str(s) => string(field::ANY_STRING, s, out),
        // int64 is the two's complement as a varint.
        Value::Int(i) => varint(field::ANY_INT, *i as u64, out),
        Value::Float(f) => fixed64(field::ANY_DOUBLE, f.to_bits(), out),
        Value::Bool(b) => varint(field::ANY_BOOL, u64::from(*b), out),
    }
}

fn message(key: u8, encoded: &[u8], out: &mut Vec<u8>) {
    bytes(key, encoded, out);
}

/// The key and length of a length-delimited field of `len` bytes, written before them.
#[inline]
fn header(key: u8, len: usize, out: &mut Vec<u8>) {
    out.push(key);
    varint_value(len as u64, out);
}

/// Bytes a key takes ([`key`]).
const KEY_LEN: usize = 1;

/// How long a length-delimited field of `len` bytes is, framed.
fn framed_len(len: usize) -> usize {
    KEY_LEN + encoded_len_varint(len as u64) + len
}

#[inline]
fn bytes(key: u8, value: &[u8], out: &mut Vec<u8>) {
    header(key, value.len(), out);
    out.extend_from_slice(value);
}

#[inline]
fn string(key: u8, value: &str, out: &mut Vec<u8>) {
    bytes(key, value.as_bytes(), out);
}

#[inline]
fn varint(key: u8, value: u64, out: &mut Vec<u8>) {
    out.push(key);
    varint_value(value, out);
}

/// A varint: one byte written in place when under 128, as most lengths and every enum
/// here are; prost's loop for the others.
#[inline]
fn varint_value(value: u64, out: &mut Vec<u8>) {
    match u8::try_from(value) {
        Ok(byte) if byte < 0x80 => out.push(byte),
        _ => encode_varint(value, out),
    }
}

/// A fixed64 field's key and value.
const FIXED64_LEN: usize = KEY_LEN + 8;

#[inline]
fn fixed64(key: u8, value: u64, out: &mut Vec<u8>) {
    out.push(key);
    out.extend_from_slice(&value.to_le_bytes());
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, time::Duration};

    use opentelemetry::trace::{SpanId, TraceId};
    use opentelemetry_proto::tonic::{
        collector::trace::v1::ExportTraceServiceRequest,
        common::v1::{AnyValue, KeyValue, any_value},
    };
    use prost::Message;

    use super::*;
    use crate::traces::record::{Kind, SpanEvent};

    fn recorded(parent: Option<SpanId>, error: Option<&str>) -> Recorded {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut event_attributes = Vec::new();
        event_attribute("waited_ms", &Value::Int(5000), &mut event_attributes);
        let mut recorded = Recorded {
            trace_id: TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            span_id: SpanId::from(0x00f0_67aa_0ba9_02b7),
            parent,
            name: Cow::Borrowed("GET /randoms"),
            kind: Kind::Server,
            start,
            end: start + Duration::from_micros(1500),
            attributes: Vec::new(),
            events: vec![SpanEvent {
                time: start + Duration::from_micros(10),
                name: "pool exhausted".to_owned(),
                attributes: event_attributes,
            }],
            links: vec![(TraceId::from(1), SpanId::from(2))],
            error: error.map(str::to_owned),
        };
        for (key, value) in [
            ("http.route", Value::from("/randoms")),
            ("http.response.status_code", Value::Int(500)),
            ("offset", Value::Int(-3)),
            ("ratio", Value::Float(0.25)),
            ("cached", Value::Bool(true)),
        ] {
            recorded.attribute(key, &value);
        }
        recorded
    }

    fn value(value: any_value::Value) -> Option<AnyValue> {
        Some(AnyValue { value: Some(value) })
    }

    fn pairs(attributes: &[KeyValue]) -> Vec<(&str, Option<AnyValue>)> {
        attributes
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.clone()))
            .collect()
    }

    /// What a collector reads back, decoded with OpenTelemetry's own messages: the
    /// resource, the ids, the times, the attributes by type, the events, links and status,
    /// for each span of a batch; and the same again from the reused buffers.
    #[test]
    fn spans_decode_as_they_were_recorded() {
        let batch = [
            recorded(Some(SpanId::from(7)), Some("Internal Server Error")),
            recorded(None, None),
        ];
        // Each span in a buffer of its own, as two threads would hand them over.
        let mut buffers = [Spans::default(), Spans::default()];
        let mut encoder = Encoder::new("api");
        let mut encode = || {
            for (recorded, spans) in batch.iter().zip(&mut buffers) {
                spans.clear();
                spans.push(recorded);
                assert_eq!(spans.count, 1);
            }
            encoder.encode(&buffers).to_vec()
        };
        let first = encode();
        assert_eq!(encode(), first, "buffers reused cleanly");
        let decoded = ExportTraceServiceRequest::decode(first.as_slice()).expect("protobuf");
        let resource = &decoded.resource_spans[0];
        let service = resource.resource.as_ref().expect("a resource");
        assert_eq!(
            pairs(&service.attributes),
            [(
                "service.name",
                value(any_value::Value::StringValue("api".into()))
            )]
        );
        let scope_spans = &resource.scope_spans[0];
        assert_eq!(
            scope_spans.scope.as_ref().map(|s| s.name.as_str()),
            Some("telemetry")
        );
        let [failed, root] = scope_spans.spans.as_slice() else {
            panic!("two spans, not {}", scope_spans.spans.len());
        };
        assert_eq!(hex(&failed.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&failed.span_id), "00f067aa0ba902b7");
        assert_eq!(hex(&failed.parent_span_id), "0000000000000007");
        assert!(root.parent_span_id.is_empty(), "a root has no parent");
        assert_eq!(failed.name, "GET /randoms");
        assert_eq!(failed.kind, 2);
        assert_eq!(failed.start_time_unix_nano, 1_700_000_000_000_000_000);
        assert_eq!(
            failed.end_time_unix_nano - failed.start_time_unix_nano,
            1_500_000
        );
        use any_value::Value as V;
        assert_eq!(
            pairs(&failed.attributes),
            [
                ("http.route", value(V::StringValue("/randoms".into()))),
                ("http.response.status_code", value(V::IntValue(500))),
                ("offset", value(V::IntValue(-3))),
                ("ratio", value(V::DoubleValue(0.25))),
                ("cached", value(V::BoolValue(true))),
            ]
        );
        let event = &failed.events[0];
        assert_eq!(event.name, "pool exhausted");
        assert_eq!(event.time_unix_nano, 1_700_000_000_000_010_000);
        assert_eq!(
            pairs(&event.attributes),
            [("waited_ms", value(V::IntValue(5000)))]
        );
        assert_eq!(
            (
                hex(&failed.links[0].trace_id),
                hex(&failed.links[0].span_id)
            ),
            (
                "00000000000000000000000000000001".to_owned(),
                "0000000000000002".to_owned()
            )
        );
        let status = failed.status.as_ref().expect("a status");
        assert_eq!(
            (status.code, status.message.as_str()),
            (2, "Internal Server Error")
        );
        assert_eq!(root.status, None, "unset: the span did not fail");
    }

    /// Whatever its length takes (one byte, two, more), a span's computed length is right.
    #[test]
    fn spans_short_and_long_decode() {
        let mut span = recorded(None, None);
        let long = "x".repeat(3 << 20);
        span.attribute("long", &Value::Str(&long));
        let short = Recorded::start(TraceId::from(3), None, "short", Kind::Internal, Vec::new());
        let mut spans = Spans::default();
        spans.push(&span);
        spans.push(&recorded(None, None));
        spans.push(&short);
        let body = Encoder::new("api")
            .encode(std::slice::from_ref(&spans))
            .to_vec();
        let decoded = ExportTraceServiceRequest::decode(body.as_slice()).expect("protobuf");
        let spans = &decoded.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[2].name, "short");
        let last = spans[0].attributes.last().expect("attributes");
        assert_eq!(
            (last.key.as_str(), last.value.clone()),
            ("long", value(any_value::Value::StringValue(long)))
        );
        assert_eq!(spans[1].name, "GET /randoms");
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
