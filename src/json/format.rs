//! Serialization of JSON values the way JSON.GET replies (RedisJSON syntax):
//! compact by default, or laid out with the caller's INDENT / NEWLINE / SPACE
//! strings, plus the type names JSON.TYPE reports.
//!
//! Numbers and strings are printed by serde_json itself, so integers print as
//! integers and floats in shortest round-trip form that always keeps a float
//! look: `3.5`, `2.0` (integral float), `1e+20`, `1.5e-7`.

use serde_json::Value;

/// Layout strings for [`to_string`]; all empty means compact output.
struct Layout<'a> {
    indent: &'a str,
    newline: &'a str,
    space: &'a str,
}

/// Serialize `v` as JSON.GET does with its INDENT / NEWLINE / SPACE options.
///
/// Containers with members get `newline` + `indent` × depth before each member
/// and before the closing bracket; `space` goes after each key's `:`.
/// Empty containers are always `{}` / `[]`.
pub fn to_string(v: &Value, indent: &str, newline: &str, space: &str) -> String {
    let layout = Layout {
        indent,
        newline,
        space,
    };
    let mut out = String::new();
    write_value(&mut out, v, 0, &layout);
    out
}

/// What JSON.GET prints: a document node, or the array / object it builds around
/// nodes for JSONPath and multi-path replies, so that no node is copied to print it.
pub enum Tree<'a> {
    Node(&'a Value),
    /// A JSON array of nodes (the matches of one JSONPath).
    Array(Vec<&'a Value>),
    /// A JSON object of trees (one member per path), in the given order.
    Object(Vec<(&'a str, Tree<'a>)>),
}

/// Serialize a [`Tree`] with the same layout rules as [`to_string`].
pub fn tree_to_string(t: &Tree<'_>, indent: &str, newline: &str, space: &str) -> String {
    let layout = Layout {
        indent,
        newline,
        space,
    };
    let mut out = String::new();
    write_tree(&mut out, t, &layout);
    out
}

fn write_tree(out: &mut String, t: &Tree<'_>, layout: &Layout) {
    match t {
        Tree::Node(v) => write_value(out, v, 0, layout),
        Tree::Array(items) => write_array(out, items.iter().copied(), 0, layout),
        Tree::Object(members) if members.is_empty() => out.push_str("{}"),
        Tree::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_line_break(out, 1, layout);
                write_json_string(out, key);
                out.push(':');
                out.push_str(layout.space);
                match item {
                    Tree::Node(v) => write_value(out, v, 1, layout),
                    Tree::Array(items) => write_array(out, items.iter().copied(), 1, layout),
                    // JSON.GET never nests objects of paths.
                    Tree::Object(_) => out.push_str("{}"),
                }
            }
            write_line_break(out, 0, layout);
            out.push('}');
        }
    }
}

/// The name JSON.TYPE reports for `v`: integers and floats are told apart.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn write_line_break(out: &mut String, depth: usize, layout: &Layout) {
    out.push_str(layout.newline);
    for _ in 0..depth {
        out.push_str(layout.indent);
    }
}

fn write_json_string(out: &mut String, s: &str) {
    // Serializing a &str cannot fail; the fallback only keeps this panic-free.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

fn write_array<'a>(
    out: &mut String,
    items: impl ExactSizeIterator<Item = &'a Value>,
    depth: usize,
    layout: &Layout,
) {
    if items.len() == 0 {
        out.push_str("[]");
        return;
    }
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_line_break(out, depth + 1, layout);
        write_value(out, item, depth + 1, layout);
    }
    write_line_break(out, depth, layout);
    out.push(']');
}

fn write_value(out: &mut String, v: &Value, depth: usize, layout: &Layout) {
    match v {
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) => write_array(out, items.iter(), depth, layout),
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_line_break(out, depth + 1, layout);
                write_json_string(out, key);
                out.push(':');
                out.push_str(layout.space);
                write_value(out, item, depth + 1, layout);
            }
            write_line_break(out, depth, layout);
            out.push('}');
        }
        Value::String(s) => write_json_string(out, s),
        // Display of a scalar Value is serde_json's compact serializer.
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_when_no_options() {
        let v = json!({"a": 1, "b": [1, 2, {"c": null}], "d": {}, "e": []});
        assert_eq!(
            to_string(&v, "", "", ""),
            r#"{"a":1,"b":[1,2,{"c":null}],"d":{},"e":[]}"#
        );
    }

    #[test]
    fn keeps_insertion_order() {
        let v: Value = serde_json::from_str(r#"{"z":1,"a":2,"m":3}"#).unwrap();
        assert_eq!(to_string(&v, "", "", ""), r#"{"z":1,"a":2,"m":3}"#);
    }

    #[test]
    fn indent_newline_space() {
        let v = json!({"a": [1, {"b": true}], "c": {}});
        let got = to_string(&v, "\t", "\n", " ");
        let want = "{\n\t\"a\": [\n\t\t1,\n\t\t{\n\t\t\t\"b\": true\n\t\t}\n\t],\n\t\"c\": {}\n}";
        assert_eq!(got, want);
    }

    #[test]
    fn only_space() {
        let v = json!({"a": 1, "b": 2});
        assert_eq!(to_string(&v, "", "", " "), r#"{"a": 1,"b": 2}"#);
    }

    #[test]
    fn only_newline_and_indent() {
        let v = json!([1, 2]);
        assert_eq!(to_string(&v, "  ", "\n", ""), "[\n  1,\n  2\n]");
    }

    #[test]
    fn empty_containers_stay_compact_with_options() {
        assert_eq!(to_string(&json!([]), "\t", "\n", " "), "[]");
        assert_eq!(to_string(&json!({}), "\t", "\n", " "), "{}");
        assert_eq!(to_string(&json!([[]]), "\t", "\n", " "), "[\n\t[]\n]");
    }

    #[test]
    fn scalars_and_numbers() {
        assert_eq!(to_string(&json!(3.5), "", "", ""), "3.5");
        assert_eq!(to_string(&json!(2.0), "", "", ""), "2.0");
        assert_eq!(to_string(&json!(-7), "", "", ""), "-7");
        assert_eq!(
            to_string(&json!(u64::MAX), "", "", ""),
            "18446744073709551615"
        );
        assert_eq!(to_string(&json!(1e20), "", "", ""), "1e+20");
        assert_eq!(to_string(&json!(null), "\t", "\n", " "), "null");
        assert_eq!(to_string(&json!(false), "", "", ""), "false");
    }

    #[test]
    fn strings_are_escaped() {
        let v = json!({"k\"ey": "a\nb\\c\u{1}é"});
        assert_eq!(
            to_string(&v, "", "", ""),
            "{\"k\\\"ey\":\"a\\nb\\\\c\\u0001é\"}"
        );
    }

    #[test]
    fn trees_print_like_the_documents_they_stand_for() {
        let a = json!({"x": [1, 2]});
        let b = json!(3.5);
        let arr = Tree::Array(vec![&a, &b]);
        assert_eq!(tree_to_string(&arr, "", "", ""), r#"[{"x":[1,2]},3.5]"#);
        assert_eq!(
            tree_to_string(&arr, " ", "\n", " "),
            to_string(&json!([{"x": [1, 2]}, 3.5]), " ", "\n", " ")
        );
        assert_eq!(tree_to_string(&Tree::Array(vec![]), " ", "\n", ""), "[]");
        let obj = Tree::Object(vec![("$.x", Tree::Array(vec![&a])), (".y", Tree::Node(&b))]);
        assert_eq!(
            tree_to_string(&obj, "", "", ""),
            r#"{"$.x":[{"x":[1,2]}],".y":3.5}"#
        );
        assert_eq!(
            tree_to_string(&obj, "\t", "\n", " "),
            to_string(&json!({"$.x": [{"x": [1, 2]}], ".y": 3.5}), "\t", "\n", " ")
        );
        assert_eq!(tree_to_string(&Tree::Node(&b), "", "", ""), "3.5");
    }

    #[test]
    fn type_names() {
        assert_eq!(type_name(&json!(null)), "null");
        assert_eq!(type_name(&json!(true)), "boolean");
        assert_eq!(type_name(&json!(1)), "integer");
        assert_eq!(type_name(&json!(-1)), "integer");
        assert_eq!(type_name(&json!(u64::MAX)), "integer");
        assert_eq!(type_name(&json!(1.0)), "number");
        assert_eq!(type_name(&json!(1.5)), "number");
        assert_eq!(type_name(&json!("s")), "string");
        assert_eq!(type_name(&json!([])), "array");
        assert_eq!(type_name(&json!({})), "object");
    }
}
