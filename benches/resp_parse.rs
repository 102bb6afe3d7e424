//! Parse throughput of pipelined RESP requests, in commands per second.
//!
//! Each iteration parses a whole buffer of 1000 pipelined commands the way a
//! connection does: parse, look at the arguments, advance by `consumed`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use memflux::protocol::parser::{Parsed, ParserLimits, RequestParser};

const COMMANDS: usize = 1000;

fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn set_pipeline() -> Vec<u8> {
    let value = [b'x'; 32];
    let mut buf = Vec::new();
    for n in 0..COMMANDS {
        encode(&[b"SET", format!("key:{n}").as_bytes(), &value], &mut buf);
    }
    buf
}

fn get_pipeline() -> Vec<u8> {
    let mut buf = Vec::new();
    for n in 0..COMMANDS {
        encode(&[b"GET", format!("key:{n}").as_bytes()], &mut buf);
    }
    buf
}

/// Parses every command in `buf`; returns how many there were.
fn parse_all(parser: &mut RequestParser, buf: &[u8]) -> usize {
    let mut off = 0;
    let mut count = 0;
    while off < buf.len() {
        let rest = &buf[off..];
        match parser.parse(rest) {
            Ok(Parsed::Command { consumed }) => {
                let argv = parser.argv(rest);
                // Touch what a dispatcher would: the name and the arg count.
                black_box((argv.get(0), argv.len()));
                count += 1;
                off += consumed;
            }
            Ok(Parsed::Empty { consumed }) => off += consumed,
            Ok(Parsed::Incomplete { .. }) => panic!("benchmark buffer is truncated"),
            Err(e) => panic!("benchmark buffer is invalid: {e}"),
        }
    }
    count
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("resp_parse");
    group.throughput(Throughput::Elements(COMMANDS as u64));
    for (name, buf) in [
        ("set_pipeline_1000", set_pipeline()),
        ("get_pipeline_1000", get_pipeline()),
    ] {
        let mut parser = RequestParser::new(ParserLimits::default());
        assert_eq!(parse_all(&mut parser, &buf), COMMANDS);
        group.bench_function(name, |b| b.iter(|| parse_all(&mut parser, black_box(&buf))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
