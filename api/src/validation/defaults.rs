//! The schema's `default`s applied to an object, as the API server applies them before it
//! validates: a missing property with a default gets it, and defaulting continues inside what
//! was filled in. CEL rules read the defaulted object (`self.enabled` on a Product whose
//! manifest leaves `preview.enabled` out is `false`, not a missing key).

use serde_json::Value;

/// `value` with every missing property that has a default filled in.
pub fn apply_defaults(schema: &Value, value: &Value) -> Value {
    let mut out = value.clone();
    fill(schema, &mut out);
    out
}

fn fill(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, s) in props.into_iter().flatten() {
                if !map.contains_key(k)
                    && let Some(default) = s.get("default")
                {
                    map.insert(k.clone(), default.clone());
                }
            }
            let additional = schema.get("additionalProperties").filter(|s| s.is_object());
            for (k, v) in map.iter_mut() {
                if let Some(child) = props.and_then(|p| p.get(k)).or(additional) {
                    fill(child, v);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                items.iter_mut().for_each(|item| fill(item_schema, item));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_fields_get_their_defaults_recursively_and_present_ones_stay() {
        let schema = json!({"type": "object", "properties": {
            "preview": {"type": "object", "default": {}, "properties": {
                "enabled": {"type": "boolean", "default": false},
                "label": {"type": "string", "default": "preview"}}},
            "checks": {"type": "array", "items": {"type": "object", "properties": {
                "status": {"type": "integer", "default": 200}}}},
            "plain": {"type": "string"}}});
        assert_eq!(
            apply_defaults(&schema, &json!({"checks": [{}, {"status": 204}]})),
            json!({"preview": {"enabled": false, "label": "preview"},
                   "checks": [{"status": 200}, {"status": 204}]})
        );
        assert_eq!(
            apply_defaults(&schema, &json!({"preview": {"enabled": true}})),
            json!({"preview": {"enabled": true, "label": "preview"}})
        );
    }
}
