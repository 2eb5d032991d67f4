//! Recorded spans as an OTLP/HTTP request body: `ExportTraceServiceRequest`, protobuf
//! (the messages are opentelemetry-proto's).

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span, status},
};
use prost::Message;

use super::record::{Attributes, Recorded, Value};

/// The body that exports `spans` as `service`'s.
pub(crate) fn encode(service: &str, spans: Vec<Recorded>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![key_value(
                    "service.name",
                    Value::Str(service.to_owned().into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: env!("CARGO_PKG_NAME").to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    ..Default::default()
                }),
                spans: spans.into_iter().map(span).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
    .encode_to_vec()
}

fn span(recorded: Recorded) -> Span {
    Span {
        trace_id: recorded.trace_id.to_bytes().to_vec(),
        span_id: recorded.span_id.to_bytes().to_vec(),
        parent_span_id: recorded
            .parent
            .map(|p| p.to_bytes().to_vec())
            .unwrap_or_default(),
        name: recorded.name.into_owned(),
        kind: recorded.kind as i32,
        start_time_unix_nano: unix_nanos(recorded.start),
        end_time_unix_nano: unix_nanos(recorded.end),
        attributes: attributes(recorded.attributes),
        events: recorded
            .events
            .into_iter()
            .map(|event| span::Event {
                time_unix_nano: unix_nanos(event.time),
                name: event.name,
                attributes: attributes(event.attributes),
                dropped_attributes_count: 0,
            })
            .collect(),
        links: recorded
            .links
            .into_iter()
            .map(|(trace_id, span_id)| span::Link {
                trace_id: trace_id.to_bytes().to_vec(),
                span_id: span_id.to_bytes().to_vec(),
                ..Default::default()
            })
            .collect(),
        status: Some(match recorded.error {
            Some(message) => Status {
                message,
                code: status::StatusCode::Error as i32,
            },
            None => Status::default(),
        }),
        ..Default::default()
    }
}

fn attributes(attributes: Attributes) -> Vec<KeyValue> {
    attributes
        .into_iter()
        .map(|(key, value)| key_value(key, value))
        .collect()
}

fn key_value(key: &str, value: Value) -> KeyValue {
    let value = match value {
        Value::Str(s) => any_value::Value::StringValue(s.into_owned()),
        Value::Int(i) => any_value::Value::IntValue(i),
        Value::Float(f) => any_value::Value::DoubleValue(f),
        Value::Bool(b) => any_value::Value::BoolValue(b),
    };
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, time::Duration};

    use opentelemetry::trace::{SpanId, TraceId};

    use super::*;
    use crate::traces::record::Kind;

    /// What a collector reads back: the ids, the times, the attributes by type, the
    /// status.
    #[test]
    fn a_span_decodes_as_it_was_recorded() {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let recorded = Recorded {
            trace_id: TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            span_id: SpanId::from(0x00f0_67aa_0ba9_02b7),
            parent: Some(SpanId::from(7)),
            name: Cow::Borrowed("GET /randoms"),
            kind: Kind::Server,
            start,
            end: start + Duration::from_micros(1500),
            attributes: vec![
                ("http.route", Value::from("/randoms")),
                ("http.response.status_code", Value::Int(500)),
            ],
            events: Vec::new(),
            links: vec![(TraceId::from(1), SpanId::from(2))],
            error: Some("Internal Server Error".to_owned()),
        };
        let body = encode("api", vec![recorded]);
        let decoded = ExportTraceServiceRequest::decode(body.as_slice()).expect("protobuf");
        let resource = &decoded.resource_spans[0];
        assert_eq!(
            resource.resource.as_ref().map(|r| r.attributes[0].key.as_str()),
            Some("service.name")
        );
        let span = &resource.scope_spans[0].spans[0];
        assert_eq!(hex(&span.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&span.span_id), "00f067aa0ba902b7");
        assert_eq!(hex(&span.parent_span_id), "0000000000000007");
        assert_eq!(span.name, "GET /randoms");
        assert_eq!(span.kind, 2);
        assert_eq!(
            span.end_time_unix_nano - span.start_time_unix_nano,
            1_500_000
        );
        assert_eq!(span.attributes[1].key, "http.response.status_code");
        assert_eq!(
            span.attributes[1].value,
            Some(AnyValue {
                value: Some(any_value::Value::IntValue(500))
            })
        );
        assert_eq!(span.links.len(), 1);
        let status = span.status.as_ref().expect("a status");
        assert_eq!(
            (status.code, status.message.as_str()),
            (2, "Internal Server Error")
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
