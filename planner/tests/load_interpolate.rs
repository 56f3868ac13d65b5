//! Interpolation: every compose form, its errors, where values come from, and that errors name the path.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod load_support;

use load_support::{assert_error, load_with, MemHost};
use planner::interpolate::{interpolate, InterpolationError};
use planner::model::EnvValue;
use planner::ErrorKind;

fn env(name: &str) -> Option<String> {
    match name {
        "SET" => Some("value".into()),
        "EMPTY" => Some(String::new()),
        "PORT" => Some("8080".into()),
        _ => None,
    }
}

#[test]
fn every_form() {
    let cases: &[(&str, &str)] = &[
        ("plain", "plain"),
        ("$SET", "value"),
        ("${SET}", "value"),
        ("a${SET}b", "avalueb"),
        ("$SET-suffix", "value-suffix"),
        ("$UNSET", ""),
        ("${UNSET}", ""),
        ("${UNSET:-default}", "default"),
        ("${EMPTY:-default}", "default"),
        ("${SET:-default}", "value"),
        ("${UNSET-default}", "default"),
        ("${EMPTY-default}", ""),
        ("${SET-default}", "value"),
        ("${SET:?must be set}", "value"),
        ("${EMPTY?may be empty}", ""),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${SET+alt}", "alt"),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("$$", "$"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("cost: $$5", "cost: $5"),
        ("${UNSET:-${PORT}}", "8080"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${UNSET:-a:b}", "a:b"),
        ("${UNSET:-}", ""),
        ("${PORT}:80", "8080:80"),
        ("${SET:-{braces}x}", "valuex}"),
        ("é${SET}ü", "évalueü"),
    ];
    for (input, want) in cases {
        assert_eq!(interpolate(input, &env).as_deref(), Ok(*want), "{input}");
    }
}

#[test]
fn error_forms() {
    assert_eq!(
        interpolate("${UNSET:?please set it}", &env),
        Err(InterpolationError::Required {
            variable: "UNSET".into(),
            message: "please set it".into()
        })
    );
    assert_eq!(
        interpolate("${EMPTY:?no empties}", &env),
        Err(InterpolationError::Required {
            variable: "EMPTY".into(),
            message: "no empties".into()
        })
    );
    assert_eq!(
        interpolate("${UNSET?gone}", &env),
        Err(InterpolationError::Required {
            variable: "UNSET".into(),
            message: "gone".into()
        })
    );
    assert!(matches!(
        interpolate("${UNSET:?}", &env),
        Err(InterpolationError::Required { .. })
    ));
    for bad in [
        "${SET",
        "${}",
        "${1X}",
        "$",
        "a $ b",
        "$1",
        "${SET!x}",
        "${UNSET:-${NESTED}",
    ] {
        assert!(
            matches!(
                interpolate(bad, &env),
                Err(InterpolationError::Invalid { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn spec_values_are_interpolated_before_typing() {
    let host = MemHost::new()
        .var("TAG", "1.27")
        .var("HOST_PORT", "9090")
        .var("N", "2")
        .var("RO", "true");
    let yaml = r#"name: t
services:
  web:
    image: "nginx:${TAG}"
    ports: ["${HOST_PORT}:80", "${OTHER:-7000}:70"]
    read_only: $RO
    environment:
      PRICE: "$$5"
      FROM_DEFAULT: "${MISSING:-fallback}"
    labels:
      "${NOT_INTERPOLATED}": key
  worker:
    image: x
    deploy: {replicas: "${N}"}
"#;
    let p = load_with(yaml, &host).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.image, "nginx:1.27");
    assert_eq!(web.ports[0].published, Some(9090));
    assert_eq!(web.ports[1].published, Some(7000));
    assert_eq!(p.services["worker"].replicas, 2);
    assert!(web.read_only);
    assert_eq!(web.environment["PRICE"], EnvValue::Literal("$5".into()));
    assert_eq!(
        web.environment["FROM_DEFAULT"],
        EnvValue::Literal("fallback".into())
    );
    assert!(
        web.labels.contains_key("${NOT_INTERPOLATED}"),
        "keys are not interpolated, as in compose"
    );
}

#[test]
fn server_environment_wins_over_dotenv() {
    let host = MemHost::new()
        .file(
            "/srv/app/.env",
            "TAG=from-dotenv\nONLY_DOTENV=d\n# comment\n",
        )
        .var("TAG", "from-env");
    let yaml = "name: t\nservices:\n  web:\n    image: \"x:${TAG}\"\n    environment: {A: \"${ONLY_DOTENV}\"}\n";
    let p = load_with(yaml, &host).unwrap();
    assert_eq!(p.services["web"].image, "x:from-env");
    assert_eq!(
        p.services["web"].environment["A"],
        EnvValue::Literal("d".into())
    );
}

#[test]
fn missing_required_variable_names_variable_and_path() {
    let yaml = "name: t\nservices:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?set the database password}\n";
    let e = load_with(yaml, &MemHost::new()).unwrap_err().0;
    assert_error(
        &e,
        ErrorKind::Invalid,
        "services.db.environment.POSTGRES_PASSWORD",
        "`DB_PASSWORD`",
    );
    assert_error(
        &e,
        ErrorKind::Invalid,
        "services.db.environment.POSTGRES_PASSWORD",
        "set the database password",
    );
    assert_error(
        &e,
        ErrorKind::Invalid,
        "services.db.environment.POSTGRES_PASSWORD",
        ".env",
    );
    let e = load_with(
        "name: t\nservices:\n  w:\n    image: x\n    command: [echo, \"$\"]\n",
        &MemHost::new(),
    )
    .unwrap_err()
    .0;
    assert_error(&e, ErrorKind::Invalid, "services.w.command[1]", "$$");
}

#[test]
fn project_name_may_be_interpolated() {
    let host = MemHost::new().var("APP", "shop");
    let p = load_with("name: ${APP}-dev\nservices: {}\n", &host).unwrap();
    assert_eq!(p.name, "shop-dev");
}

#[test]
fn a_failed_interpolation_is_reported_once() {
    let yaml = "name: t\nservices:\n  w:\n    image: \"${IMAGE:?set IMAGE}\"\n    ports: [\"${PORT:?set PORT}:80\"]\n";
    let e = load_with(yaml, &MemHost::new()).unwrap_err().0;
    assert_eq!(e.len(), 2, "{e:?}");
    assert_error(&e, ErrorKind::Invalid, "services.w.image", "`IMAGE`");
    assert_error(&e, ErrorKind::Invalid, "services.w.ports[0]", "`PORT`");
}
