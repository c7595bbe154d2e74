//! The CRDs' CEL rules (`x-kubernetes-validations`) evaluated without an API server, with the
//! `cel` crate, so standalone mode refuses what `kubectl apply` would refuse.
//!
//! Each rule runs with `self` bound to the value of the schema node that carries it (after the
//! schema's defaults are applied, as the API server applies them before validating), and
//! transition rules (`oldSelf`) run only when the previous object has a value at the same
//! place. What Kubernetes adds to CEL is registered only where our rules need it; a rule
//! calling anything else does not compile here, which a test over every committed CRD turns
//! into a CI failure instead of a silent pass.

use cel::common::ast::Expr;
use cel::{Context, Env, ExecutionError, IdedExpr, Program};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

/// Operators (as the parser names them) and functions whose evaluation here follows Kubernetes'
/// CEL; `has()` and the comprehension macros expand into these. Each one is exercised by a test
/// (`every_supported_function_runs`), so the list never claims more than the evaluator does.
pub const SUPPORTED_FUNCTIONS: [&str; 32] = [
    "_==_",
    "_!=_",
    "_<_",
    "_<=_",
    "_>_",
    "_>=_",
    "_&&_",
    "_||_",
    "!_",
    "-_",
    "_?_:_",
    "_+_",
    "_-_",
    "_*_",
    "_/_",
    "_%_",
    "_[_]",
    "@in",
    "@not_strictly_false",
    "size",
    "matches",
    "contains",
    "startsWith",
    "endsWith",
    // The Kubernetes strings library (cel-go's ext.Strings), from the crate's extension.
    "replace",
    "lowerAscii",
    "upperAscii",
    "trim",
    "split",
    "substring",
    "indexOf",
    "join",
];

/// The keys a rule may carry that the evaluator honours. `messageExpression` and
/// `optionalOldSelf` are not evaluated here, so a rule using them does not compile.
const RULE_KEYS: [&str; 4] = ["rule", "message", "fieldPath", "reason"];

/// One `x-kubernetes-validations` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleDefinition {
    pub rule: String,
    /// The message shown when the rule fails; absent, Kubernetes' `failed rule: <rule>`.
    pub message: Option<String>,
    /// A relative path (`.name`) the failure is reported at instead of the node itself.
    pub field_path: Option<String>,
}

impl RuleDefinition {
    /// Read one entry of `x-kubernetes-validations`, refusing what the evaluator cannot honour.
    pub fn from_schema(entry: &Value) -> Result<Self, String> {
        let obj = entry
            .as_object()
            .ok_or_else(|| format!("a validation rule must be an object, got {entry}"))?;
        if let Some(key) = obj.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "{key} is not evaluated in standalone mode (only {})",
                RULE_KEYS.join(", ")
            ));
        }
        let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(RuleDefinition {
            rule: text("rule").ok_or("a validation rule needs `rule`")?,
            message: text("message"),
            field_path: text("fieldPath"),
        })
    }

    /// The message of a failure, as the API server words it.
    pub fn failure_message(&self) -> String {
        self.message
            .clone()
            .unwrap_or_else(|| format!("failed rule: {}", self.rule))
    }
}

/// A compiled rule: its program and whether it compares with the previous object.
#[derive(Clone)]
pub struct CompiledRule {
    program: Arc<Program>,
    /// Uses `oldSelf`: runs only on an update, when the old object has this node.
    pub transition: bool,
}

/// Compiles rules (cached by text) and evaluates them.
pub struct RuleEvaluator {
    env: Arc<Env>,
    /// Why the environment is incomplete, if it is: then no rule compiles.
    setup: Result<(), String>,
    compiled: HashMap<String, Result<CompiledRule, String>>,
}

impl fmt::Debug for RuleEvaluator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleEvaluator")
            .field("compiled", &self.compiled.len())
            .finish_non_exhaustive()
    }
}

impl Default for RuleEvaluator {
    fn default() -> Self {
        RuleEvaluator::new()
    }
}

impl RuleEvaluator {
    pub fn new() -> Self {
        let mut env = Env::stdlib();
        // Declared once on a fresh environment; a conflict would be a bug in the crate, and the
        // rules would then fail to compile (loudly) rather than run without `replace`.
        let setup = env
            .add_extension(cel::extensions::strings)
            .map_err(|e| format!("the strings extension cannot be added: {e}"));
        RuleEvaluator {
            env: Arc::new(env),
            setup,
            compiled: HashMap::new(),
        }
    }

    /// Compile `rule` as the API server does when the CRD is created: it must parse, refer to
    /// no variable but `self`, `oldSelf` and its own comprehension variables, and call only
    /// [`SUPPORTED_FUNCTIONS`].
    pub fn compile(&mut self, rule: &str) -> Result<CompiledRule, String> {
        self.setup.clone()?;
        if let Some(done) = self.compiled.get(rule) {
            return done.clone();
        }
        let result = self.compile_uncached(rule);
        self.compiled.insert(rule.to_string(), result.clone());
        result
    }

    fn compile_uncached(&self, rule: &str) -> Result<CompiledRule, String> {
        let program = self
            .env
            .compile(rule)
            .map_err(|e| format!("does not parse: {e}"))?;
        let mut bound = BTreeSet::from(["self".to_string(), "oldSelf".to_string()]);
        comprehension_variables(program.expression(), &mut bound);
        let references = program.references();
        let mut unknown: Vec<&str> = references
            .variables()
            .into_iter()
            .filter(|v| !bound.contains(*v))
            .collect();
        unknown.sort_unstable();
        if !unknown.is_empty() {
            return Err(format!("refers to unknown variables {unknown:?}"));
        }
        let mut unsupported: Vec<&str> = references
            .functions()
            .into_iter()
            .filter(|f| !SUPPORTED_FUNCTIONS.contains(f))
            .collect();
        unsupported.sort_unstable();
        if !unsupported.is_empty() {
            return Err(format!(
                "calls {unsupported:?}, which the standalone evaluator does not implement; \
                 add it to api/src/validation/rules.rs with Kubernetes' semantics"
            ));
        }
        Ok(CompiledRule {
            transition: references.has_variable("oldSelf"),
            program: Arc::new(program),
        })
    }

    /// Evaluate a compiled rule. `Ok(true)` passes; an error is worded without any value from
    /// the object, since values may be credentials.
    pub fn evaluate(&self, rule: &CompiledRule, this: &Value, old: Option<&Value>) -> Result<bool, String> {
        let mut context = Context::with_env(self.env.clone());
        context.add_variable_from_value("self", to_cel(this));
        if let Some(old) = old {
            context.add_variable_from_value("oldSelf", to_cel(old));
        }
        match rule.program.execute(&context) {
            Ok(cel::Value::Bool(passed)) => Ok(passed),
            Ok(other) => Err(format!("evaluates to a {}, not a bool", other.type_of())),
            Err(e) => Err(describe(&e)),
        }
    }
}

/// The variables comprehension macros (`all`, `exists`, …) bind inside `expr`.
fn comprehension_variables(expr: &IdedExpr, out: &mut BTreeSet<String>) {
    match &expr.expr {
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                comprehension_variables(target, out);
            }
            for arg in &call.args {
                comprehension_variables(arg, out);
            }
        }
        Expr::Comprehension(c) => {
            out.insert(c.iter_var.clone());
            out.extend(c.iter_var2.clone());
            out.insert(c.accu_var.clone());
            for e in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                comprehension_variables(e, out);
            }
        }
        Expr::List(list) => list.elements.iter().for_each(|e| comprehension_variables(e, out)),
        Expr::Select(select) => comprehension_variables(&select.operand, out),
        _ => {}
    }
}

/// An evaluation error, without the values some variants carry.
fn describe(e: &ExecutionError) -> String {
    let what = match e {
        ExecutionError::NoSuchOverload(o) => o.to_string(),
        ExecutionError::UndeclaredReference(name) => format!("undeclared reference to {name}"),
        ExecutionError::NoSuchKey(key) => format!("no such key: {key}"),
        ExecutionError::FunctionError { function, .. } => format!("{function} failed"),
        ExecutionError::InvalidArgumentCount { expected, actual } => {
            format!("{actual} arguments where {expected} are expected")
        }
        _ => "an evaluation error".to_string(),
    };
    format!("the rule could not be evaluated ({what})")
}

/// A JSON value as CEL sees a value of a structural schema: objects are maps, integers `int`
/// (never `uint`, which serde would make of a positive number), other numbers `double`.
pub fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let entries: HashMap<String, cel::Value> =
                map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::from(entries)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(rule: &str, this: Value) -> Result<bool, String> {
        let mut e = RuleEvaluator::new();
        let compiled = e.compile(rule)?;
        e.evaluate(&compiled, &this, None)
    }

    /// One expression per supported function, each true when the function behaves as in
    /// Kubernetes; the list of supported functions cannot grow without one.
    #[test]
    fn every_supported_function_runs() {
        let cases: [(&str, &str); 32] = [
            ("_==_", "self.a == 1"),
            ("_!=_", "self.a != 2"),
            ("_<_", "self.a < 2"),
            ("_<=_", "self.a <= 1"),
            ("_>_", "self.a > 0"),
            ("_>=_", "self.a >= 1"),
            ("_&&_", "true && self.a == 1"),
            ("_||_", "false || self.a == 1"),
            ("!_", "!(self.a == 2)"),
            ("-_", "-self.a == -1"),
            ("_?_:_", "self.a == 1 ? true : false"),
            ("_+_", "self.a + 1 == 2"),
            ("_-_", "self.a - 1 == 0"),
            ("_*_", "self.a * 3 == 3"),
            ("_/_", "self.a / 1 == 1"),
            ("_%_", "self.a % 1 == 0"),
            ("_[_]", "self.l[0] == 'x'"),
            ("@in", "'x' in self.l"),
            ("@not_strictly_false", "self.l.all(v, v.size() == 1)"),
            ("size", "size(self.l) == 2 && self.s.size() == 6"),
            (
                "matches",
                "self.s.matches('^pr-[0-9]+$') && !self.s.matches('^x')",
            ),
            ("contains", "self.s.contains('r-0')"),
            ("startsWith", "self.s.startsWith('pr-')"),
            ("endsWith", "self.s.endsWith('42')"),
            ("replace", "self.s.replace('pr-', 'x') == 'x042'"),
            ("lowerAscii", "'AB'.lowerAscii() == 'ab'"),
            ("upperAscii", "'ab'.upperAscii() == 'AB'"),
            ("trim", "' a '.trim() == 'a'"),
            ("split", "'a,b'.split(',') == ['a', 'b']"),
            ("substring", "self.s.substring(3) == '042'"),
            ("indexOf", "self.s.indexOf('0') == 3"),
            ("join", "['a', 'b'].join('-') == 'a-b'"),
        ];
        let this = json!({"a": 1, "l": ["x", "y"], "s": "pr-042"});
        let names: Vec<&str> = cases.iter().map(|(f, _)| *f).collect();
        assert_eq!(names, SUPPORTED_FUNCTIONS.to_vec());
        for (function, rule) in cases {
            let mut e = RuleEvaluator::new();
            let calls = e.env.compile(rule).unwrap();
            assert!(
                calls.references().has_function(function),
                "{rule} does not call {function}"
            );
            let compiled = e.compile(rule).unwrap();
            assert!(e.evaluate(&compiled, &this, None).unwrap(), "{function}: {rule}");
        }
    }

    #[test]
    fn has_distinguishes_absent_fields_and_raw_strings_are_regexes() {
        assert_eq!(eval("has(self.a) && !has(self.b)", json!({"a": 1})), Ok(true));
        assert_eq!(
            eval(r"self.matches(r'^sha256:[0-9a-f]{64}$')", json!("sha256:abc")),
            Ok(false)
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            eval(r"self.matches(r'^sha256:[0-9a-f]{64}$')", json!(digest)),
            Ok(true)
        );
    }

    #[test]
    fn transition_rules_see_the_old_value() {
        let mut e = RuleEvaluator::new();
        let rule = e.compile("self == oldSelf").unwrap();
        assert!(rule.transition);
        let a = json!({"x": [1, {"y": "z"}]});
        assert_eq!(e.evaluate(&rule, &a, Some(&a.clone())), Ok(true));
        assert_eq!(e.evaluate(&rule, &a, Some(&json!({"x": [1]}))), Ok(false));
        assert!(!e.compile("self.a == 1").unwrap().transition);
    }

    #[test]
    fn what_the_evaluator_cannot_honour_does_not_compile() {
        let mut e = RuleEvaluator::new();
        for (rule, says) in [
            ("self.isURL()", "does not implement"),
            ("url(self).getHost() == 'x'", "does not implement"),
            ("other == 1", "unknown variables"),
            ("self ==", "does not parse"),
        ] {
            let err = e.compile(rule).err().unwrap_or_default();
            assert!(err.contains(says), "{rule}: {err}");
        }
        assert!(e.compile("self.all(x, x.startsWith('a'))").is_ok());
        let unsupported = json!({"rule": "self > 0", "messageExpression": "'no'"});
        assert!(RuleDefinition::from_schema(&unsupported).is_err());
    }

    #[test]
    fn evaluation_errors_quote_no_value() {
        let err = eval("self.a.startsWith('x')", json!({"a": "hunter2"}))
            .and_then(|_| eval("self.missing == 'x'", json!({"a": "hunter2"})))
            .unwrap_err();
        assert!(
            err.contains("could not be evaluated") && !err.contains("hunter2"),
            "{err}"
        );
        let err = eval("self.a + 1 == 2", json!({"a": "hunter2"})).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            eval("self.a", json!({"a": "hunter2"}))
                .unwrap_err()
                .contains("not a bool")
        );
    }

    #[test]
    fn integers_are_ints_not_uints() {
        assert_eq!(
            eval("self.n == 3 && self.f > 0.5", json!({"n": 3, "f": 0.75})),
            Ok(true)
        );
    }
}
